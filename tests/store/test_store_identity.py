"""Records belong to their store: two stores on one account never share a record, another
store's folder is refused, a missing folder is an error, earlier per-user records are moved
or adopted, and ``chiso store info`` says where everything is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chiso import db
from chiso.dossiers.store import DossierStore, registry_units
from chiso.store import service
from tests.conftest import PgDatabase, _need_pg
from tests.store.conftest import run
from tests.index.index_cases import CASES, write



def imported(capsys, csv: Path, url: str) -> dict:
    code, out, err = run(capsys, "dossiers", "import", str(csv), "--source", "motcua", "--format", "json", url=url)
    assert code == 0, err
    return json.loads(out)


def info(capsys, url: str, records: str | None = None) -> dict:
    code, out, err = run(capsys, "store", "info", "--format", "json", url=url, records=records)
    assert code == 0, err
    return json.loads(out)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_two_stores_on_one_account_never_share_a_record(tmp_path, capsys):
    a, b = f"sqlite:///{tmp_path / 'a.sqlite3'}", f"sqlite:///{tmp_path / 'b.sqlite3'}"
    csv = write(tmp_path / "sept.csv", CASES)
    for url in (a, b):
        assert run(capsys, "init", "--province", "68", url=url)[0] == 0
    first = imported(capsys, csv, a)
    assert first["inserted"] == len(CASES)

    info_a, info_b = info(capsys, a), info(capsys, b)
    # Named after the database, beside it: copying the two moves the whole store.
    assert info_a["records_path"] == str(tmp_path / "a.records")
    assert info_b["records_path"] == str(tmp_path / "b.records")
    assert info_a["store_id"] != info_b["store_id"]
    assert info_a["records"]["dossiers"] == len(CASES) and info_b["records"]["dossiers"] == 0
    assert info_a["version"] >= 1 and info_b["version"] == 0

    # The same file into the second store is new there, not "unchanged".
    second = imported(capsys, csv, b)
    assert second["inserted"] == len(CASES) and second["unchanged"] == 0
    # Nothing was written to a folder of the operating-system user.
    assert not (tmp_path / "data" / "dossiers").exists()


def test_another_stores_records_folder_is_refused_and_nothing_is_written(tmp_path, capsys):
    a, b = f"sqlite:///{tmp_path / 'a.sqlite3'}", f"sqlite:///{tmp_path / 'b.sqlite3'}"
    csv = write(tmp_path / "sept.csv", CASES)
    for url in (a, b):
        run(capsys, "init", "--province", "68", url=url)
    imported(capsys, csv, a)
    folder_a = tmp_path / "a.records"
    before = files_under(folder_a)
    ident_a = json.loads((folder_a / service.IDENTITY_FILE).read_text())["store_id"]

    for argv in (("index", "766", "--period", "2025-09", "--format", "json"),
                 ("dossiers", "import", str(csv), "--source", "motcua")):
        code, out, err = run(capsys, *argv, url=b, records=str(folder_a))
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1
        assert "belongs to another store" in err and ident_a in err and "--records" in err
    assert files_under(folder_a) == before


def test_a_missing_records_folder_is_an_error_not_an_empty_store(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    run(capsys, "init", "--province", "68", url=url)
    imported(capsys, write(tmp_path / "sept.csv", CASES), url)
    (tmp_path / "a.records").rename(tmp_path / "elsewhere")
    code, out, err = run(capsys, "index", "766", "--period", "2025-09", "--format", "json", url=url)
    assert code == 1 and "is missing" in err and "chiso restore" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a.records").exists()
    # Told where it went, the store finds its records again.
    assert info(capsys, url, records=str(tmp_path / "elsewhere"))["records"]["dossiers"] == len(CASES)


def test_a_copied_sqlite_store_takes_its_records_along(tmp_path, capsys):
    import shutil

    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    run(capsys, "init", "--province", "68", url=url)
    imported(capsys, write(tmp_path / "sept.csv", CASES), url)
    moved = tmp_path / "moved"
    moved.mkdir()
    for part in tmp_path.glob("a.sqlite3*"):  # with its write-ahead log, as a folder copy takes it
        shutil.copy(part, moved / part.name)
    shutil.copytree(tmp_path / "a.records", moved / "a.records")
    shutil.rmtree(tmp_path / "a.records")
    got = info(capsys, f"sqlite:///{moved / 'a.sqlite3'}")
    assert got["records_path"] == str(moved / "a.records") and got["records"]["dossiers"] == len(CASES)


@pytest.mark.postgres
def test_postgresql_keeps_its_records_location_for_every_server(tmp_path, capsys, monkeypatch):
    _need_pg()
    pg, other = PgDatabase(), PgDatabase()
    try:
        folder = tmp_path / "shared" / "lamdong"
        code, out, err = run(capsys, "init", "--province", "68", "--records", str(folder), "--format", "json", url=pg.url)
        assert code == 0, err
        assert json.loads(out)["records_path"] == str(folder)
        imported(capsys, write(tmp_path / "sept.csv", CASES), pg.url)
        # A second application server: another user, another data folder, no setting.
        monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "server2"))
        got = info(capsys, pg.url)
        assert got["records_path"] == str(folder) and got["records_path_source"] == "store"
        assert got["records"]["dossiers"] == len(CASES) and got["backend"] == "postgresql"
        assert "password" not in got["database"]

        # Without --records, a folder named after the store, kept in the store.
        run(capsys, "init", "--province", "68", url=other.url)
        ident = service.identity(db.make_engine(other.url))
        assert ident.records_path == str(tmp_path / "server2" / "records" / ident.store_id)
        assert info(capsys, other.url)["records"]["dossiers"] == 0
    finally:
        pg.drop()
        other.drop()


def _legacy_records(tmp_path, capsys) -> Path:
    """Records as an earlier chiso kept them: ``<data_dir>/dossiers``, whatever the store."""
    scratch = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    run(capsys, "init", "--province", "68", url=scratch)
    legacy = tmp_path / "data" / "dossiers"
    engine = db.make_engine(scratch)
    with db.transaction(engine) as session:
        units = registry_units(session)
    DossierStore(legacy).import_files([write(tmp_path / "old.csv", CASES)], source="old", units=units)
    engine.dispose()
    return legacy


def test_the_default_store_takes_over_an_earlier_chisos_records(tmp_path, capsys):
    legacy = _legacy_records(tmp_path, capsys)
    code, out, err = run(capsys, "init", "--province", "68")  # the default store, in the data folder
    assert code == 0, err
    assert "Moved" in out and str(legacy) in out
    got = info(capsys, None)
    assert got["records_path"] == str(tmp_path / "data" / "chiso.records")
    assert got["records"]["dossiers"] == len(CASES)
    assert not list(legacy.glob("dossiers/*.parquet"))


def test_another_store_is_told_how_to_adopt_them_and_can(tmp_path, capsys):
    legacy = _legacy_records(tmp_path, capsys)
    url = f"sqlite:///{tmp_path / 'province.sqlite3'}"
    code, out, err = run(capsys, "init", "--province", "68", url=url)
    assert code == 0, err
    assert f"--adopt-records {legacy}" in out
    assert info(capsys, url)["records"]["dossiers"] == 0
    code, out, err = run(capsys, "init", "--province", "68", "--adopt-records", str(legacy), url=url)
    assert code == 0, err
    assert info(capsys, url)["records"]["dossiers"] == len(CASES)
    # Adopting twice is refused: the store already holds records.
    code, out, err = run(capsys, "init", "--province", "68", "--adopt-records", str(tmp_path / "province.records"), url=url)
    assert code == 1 and "belongs to the store" in err


def test_bad_records_options_are_refused_and_move_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    run(capsys, "init", "--province", "68", url=url)
    imported(capsys, write(tmp_path / "sept.csv", CASES), url)
    before = files_under(tmp_path / "a.records")
    # A new place for a store that holds records: move the folder first, says the error.
    elsewhere = tmp_path / "elsewhere"
    code, out, err = run(capsys, "init", "--province", "68", "--records", str(elsewhere), url=url)
    assert code == 1 and "move that folder" in err and len(err.strip().splitlines()) == 1
    # Adopting a folder that holds no records.
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(capsys, "init", "--province", "68", "--adopt-records", str(empty), url=url)
    assert code == 1 and "no records to adopt" in err
    assert files_under(tmp_path / "a.records") == before and not elsewhere.exists()
    assert info(capsys, url)["records_path"] == str(tmp_path / "a.records")


@pytest.mark.skipif(__import__("os").name != "posix", reason="file modes are POSIX")
def test_store_files_are_readable_by_their_account_only(tmp_path, capsys):
    """Issue 18: the SQLite file, its records folder and backups were 0644 under the usual
    umask; anyone on the server could read every dossier and password hash."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path / 'store' / 'p.sqlite3'}"
        assert run(capsys, "init", "--province", "68", url=url)[0] == 0
        imported(capsys, write(tmp_path / "sept.csv", CASES), url)
        archive = tmp_path / "p.chiso-backup"
        code, _out, err = run(capsys, "backup", "--out", str(archive), url=url)
        assert code == 0, err
    finally:
        os.umask(old)

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    for path in [tmp_path / "store" / "p.sqlite3", archive,
                 *(tmp_path / "store").glob("p.sqlite3-*")]:
        assert mode(path) & 0o077 == 0, f"{path} is {oct(mode(path))}"
    for folder in (tmp_path / "store", tmp_path / "store" / "p.records"):
        assert mode(folder) & 0o077 == 0, f"{folder} is {oct(mode(folder))}"
