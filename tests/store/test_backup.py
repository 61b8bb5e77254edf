"""Backups that hold everything: ``chiso backup --out FILE`` / ``chiso restore FILE`` carry a
whole store (every table, every record) between SQLite and PostgreSQL either way round; a
damaged, truncated or half-written archive and a non-empty target are refused with one
line and nothing written; a backup taken while imports go on restores to one version."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import tarfile
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from chiso import db
from chiso.cli import main
from chiso.periods import period_for
from tests.conftest import PgDatabase, _need_pg
from tests.store.conftest import run
from tests.index.index_cases import write

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV_KEYS = ("CHISO_DATABASE_URL", "CHISO_RECORDS_PATH", "CHISO_DATA_DIR", "CHISO_LANG")


def ok_json(capsys, *argv, url: str):
    code, out, err = run(capsys, *argv, "--format", "json", url=url)
    assert code == 0, err
    return json.loads(out)


def refused(capsys, *argv, url: str, says: str) -> str:
    code, out, err = run(capsys, *argv, url=url)
    assert code == 1, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert says in err, err
    return err


def close(a, b, path="") -> None:
    """Equal, floats up to the last bits: the index engine's sums of doubles are not
    bit-for-bit the same from one computation to the next (see docs/store.md)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------------------- a demo store


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An SQLite store with demo dossiers, a committee, tasks with evidence, targets and two
    assessment rounds (one published), built once for the module; and its archive."""
    from chiso.demo import seed_demo
    from chiso.dossiers.cli import make_demo_data
    from chiso.store.service import open_records

    folder = tmp_path_factory.mktemp("world")
    url = f"sqlite:///{folder / 'source.sqlite3'}"
    with pytest.MonkeyPatch.context() as mp:
        for key in ENV_KEYS:
            mp.delenv(key, raising=False)
        mp.setenv("CHISO_DATABASE_URL", url)
        mp.setenv("CHISO_DATA_DIR", str(folder / "data"))
        mp.setenv("CHISO_LANG", "en")
        engine = db.make_engine(url)
        db.upgrade(engine)
        make_demo_data("68", n=1500, seed=1)
        seed_demo(engine, "68", store=open_records(engine), communes_in_round=6)
        engine.dispose()
        archive = folder / "source.tar"
        assert main(["backup", "--out", str(archive)]) == 0
    return {"url": url, "folder": folder, "archive": archive, "records": folder / "source.records"}


def views(capsys, url: str) -> dict:
    """What the acceptance compares: the index, the task list, the rounds and their results,
    the store's own account of itself."""
    quarter = period_for("quarter", date.today()).code
    rounds = ok_json(capsys, "rounds", "list", url=url)
    info = ok_json(capsys, "store", "info", url=url)
    return {
        "index": ok_json(capsys, "index", "766", "--period", quarter, url=url),
        "tasks": ok_json(capsys, "tasks", "list", url=url),
        "rounds": rounds,
        "results": {r["code"]: ok_json(capsys, "rounds", "results", r["code"], url=url) for r in rounds},
        "info": {k: info[k] for k in ("store_id", "created_at", "version", "versions", "records", "segments",
                                      "evidence_files", "last_compaction")},
    }


def table_checksums(manifest: dict) -> dict:
    # Where the records are is each store's own business; every other row is the same.
    return {name: (t["rows"], t["sha256"]) for name, t in manifest["tables"].items() if name != "store_identity"}


def read_manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back_brings_back_every_table_and_record(world, tmp_path, capsys):
    _need_pg()
    source = views(capsys, world["url"])
    assert source["tasks"] and source["rounds"] and source["info"]["evidence_files"] >= 1
    assert any(r["status"] == "published" for rs in source["results"].values() for r in rs)
    first = read_manifest(world["archive"])
    assert first["source"]["backend"] == "sqlite" and first["store_id"] == source["info"]["store_id"]
    assert "records/demo/dossiers.csv" not in first["files"] and not any("cache/" in f for f in first["files"])

    pg = PgDatabase()
    try:
        pg_records = tmp_path / "pg-records"
        got = ok_json(capsys, "restore", str(world["archive"]), "--records", str(pg_records), url=pg.url)
        assert got["records_path"] == str(pg_records) and got["store_id"] == source["info"]["store_id"]
        on_pg = views(capsys, pg.url)
        close(on_pg, source)
        info = ok_json(capsys, "store", "info", url=pg.url)
        assert info["backend"] == "postgresql" and info["records_path_source"] == "store"
        # Evidence comes back byte for byte, read-only as it was kept.
        for sha in os.listdir(world["records"] / "evidence"):
            restored = pg_records / "evidence" / sha
            assert restored.read_bytes() == (world["records"] / "evidence" / sha).read_bytes()
            assert oct(restored.stat().st_mode & 0o777) == oct((world["records"] / "evidence" / sha).stat().st_mode & 0o777)

        # And back: PostgreSQL → a new SQLite file, records beside it.
        second_archive = tmp_path / "from-pg.tar"
        made = ok_json(capsys, "backup", "--out", str(second_archive), url=pg.url)
        assert made["source"]["backend"] == "postgresql" and made["store_id"] == source["info"]["store_id"]
        second = read_manifest(second_archive)
        assert second["source"]["backend"] == "postgresql"
        # Into a store that is migrated and has made its (empty) records folder: empty still.
        back_url = f"sqlite:///{tmp_path / 'back' / 'lamdong.sqlite3'}"
        db.upgrade(db.make_engine(back_url))
        assert ok_json(capsys, "store", "info", url=back_url)["records"]["dossiers"] == 0
        ok_json(capsys, "restore", str(second_archive), url=back_url)
        on_sqlite = views(capsys, back_url)
        assert ok_json(capsys, "store", "info", url=back_url)["records_path"] == str(tmp_path / "back" / "lamdong.records")
        third = tmp_path / "from-sqlite-again.tar"
        ok_json(capsys, "backup", "--out", str(third), url=back_url)
        # The sequences go on after the restored ids: new rows can be written.
        for url in (pg.url, back_url):
            assert run(capsys, "committee", "add", "NEW", "--name", "Thành viên mới", url=url)[0] == 0
    finally:
        pg.drop()
    assert on_sqlite["tasks"] == source["tasks"] and on_sqlite["results"] == source["results"]
    close(on_sqlite["index"], source["index"])
    # Every row of every table, value for value, whichever way it went.
    a, b, c = table_checksums(first), table_checksums(second), table_checksums(read_manifest(third))
    assert a == b == c


# ---------------------------------------------------------------------------- refusals


def _damage(archive: Path, out: Path, how: str) -> Path:
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    if how == "truncated-half":
        data = data[: len(data) // 2]
    elif how == "truncated-before-manifest":
        data = data[: members["manifest.json"].offset]
    elif how == "truncated-in-last-member":
        data = data[: members["manifest.sha256"].offset_data + 10]
    else:
        name = {"flip-records": next(n for n in members if n.startswith("records/dossiers/")),
                "flip-table": "tables/units.jsonl", "flip-manifest": "manifest.json"}[how]
        member = members[name]
        data[member.offset_data + member.size // 2] ^= 0x10
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("how", ["truncated-half", "truncated-before-manifest", "truncated-in-last-member",
                                 "flip-records", "flip-table", "flip-manifest"])
def test_a_damaged_archive_is_refused_before_anything_is_written(world, tmp_path, capsys, how):
    bad = _damage(world["archive"], tmp_path / "bad.tar", how)
    target = tmp_path / "target"
    target.mkdir()
    url = f"sqlite:///{target / 'new.sqlite3'}"
    refused(capsys, "restore", str(bad), url=url, says="damaged or incomplete")
    assert files_under(target) == []


def test_a_restore_into_a_store_that_holds_anything_is_refused(world, tmp_path, capsys):
    before = files_under(world["records"])
    refused(capsys, "restore", str(world["archive"]), url=world["url"], says="is not empty")
    assert files_under(world["records"]) == before
    # An initialised store holds its province: not empty either.
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    assert run(capsys, "init", "--province", "68", url=url)[0] == 0
    before = files_under(tmp_path)
    err = refused(capsys, "restore", str(world["archive"]), url=url, says="is not empty")
    assert "has rows" in err and files_under(tmp_path) == before
    # An empty database whose records folder already holds files: refused too.
    (tmp_path / "fresh.records" / "evidence").mkdir(parents=True)
    (tmp_path / "fresh.records" / "evidence" / "x").write_bytes(b"x")
    refused(capsys, "restore", str(world["archive"]), url=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
            says="records folder")
    assert not (tmp_path / "fresh.sqlite3").exists()
    # A file that is there already is never overwritten by a backup.
    (tmp_path / "taken.tar").write_bytes(b"keep")
    refused(capsys, "backup", "--out", str(tmp_path / "taken.tar"), url=world["url"], says="already exists")
    assert (tmp_path / "taken.tar").read_bytes() == b"keep"


@pytest.mark.parametrize("revision,says", [("9999", "newer schema"), ("0008", "older schema")])
def test_an_archive_of_another_schema_is_refused(world, tmp_path, capsys, revision, says):
    rewritten = tmp_path / "other-schema.tar"
    with tarfile.open(world["archive"]) as src, tarfile.open(rewritten, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["schema_revision"] = revision
                data = json.dumps(manifest).encode()
                body = data
            if member.name == "manifest.sha256":  # a well-made archive, only of another schema
                data = hashlib.sha256(body).hexdigest().encode() + b"\n"
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    (tmp_path / "t").mkdir()
    refused(capsys, "restore", str(rewritten), url=f"sqlite:///{tmp_path / 't' / 'x.sqlite3'}", says=says)
    assert files_under(tmp_path / "t") == []


# ---------------------------------------------------------------------------- while it runs

IMPORTER = r"""
import contextlib, io, json, sys
from pathlib import Path
from chiso import db
from chiso.cli import main
from chiso.store.service import open_records
engine = db.make_engine()
for csv in sorted(Path(sys.argv[1]).glob("batch-*.csv")):
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["dossiers", "import", str(csv), "--source", "motcua"]) == 0
    store = open_records(engine)  # one importer: nothing lands between its import and this count
    print(json.dumps({"version": store.version("dossiers"), "count": store.count("dossiers")}), flush=True)
"""


def _env(url: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env.update(PYTHONPATH=SRC + os.pathsep + str(Path(SRC).parent), CHISO_DATABASE_URL=url, CHISO_LANG="en",
               CHISO_DATA_DIR=str(tmp_path / "data"))
    return env


def test_a_backup_taken_while_imports_go_on_restores_to_one_version(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    assert run(capsys, "init", "--province", "68", url=url)[0] == 0
    batches = 8
    for i in range(batches):
        rows = [(f"b{i}-{j}", "2025-09-02 09:00", "2025-09-05 17:00", "2025-09-04 10:00", "settled", "online", "")
                for j in range(200)]
        write(tmp_path / f"batch-{i:02d}.csv", rows)
    importer = subprocess.Popen([sys.executable, "-c", IMPORTER, str(tmp_path)], env=_env(url, tmp_path),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = importer.stdout.readline()
    assert first, importer.communicate()[1]
    seen = [json.loads(first)]  # the first import has landed
    archives = []
    try:
        for k in range(2):
            archive = tmp_path / f"busy-{k}.tar"
            assert run(capsys, "backup", "--out", str(archive), url=url)[0] == 0
            archives.append(archive)
    finally:
        out, err = importer.communicate(timeout=120)
    assert importer.returncode == 0, err
    seen += [json.loads(line) for line in out.splitlines()]
    counts = {s["version"]: s["count"] for s in seen}
    assert len(counts) == batches
    versions = []
    for k, archive in enumerate(archives):
        target = f"sqlite:///{tmp_path / f'restored-{k}.sqlite3'}"
        ok_json(capsys, "restore", str(archive), url=target)
        info = ok_json(capsys, "store", "info", url=target)
        # One version, whole: the dossiers it holds are exactly those of that version.
        assert info["records"]["dossiers"] == counts[info["version"]]
        versions.append(info["version"])
        with db.make_engine(target).connect() as conn:
            logged = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'dossiers.import'")).scalar()
        # The audit row of an import follows its records (written just after the commit).
        assert logged in (info["version"], info["version"] - 1)
    # The imports went on during the backups.
    assert versions[0] < batches


def test_a_backup_killed_midway_leaves_nothing_restore_would_take(world, tmp_path, capsys):
    # A large report file makes the backup take long enough to be caught in the middle.
    big = world["records"] / "reports" / "yearly" / "big.pdf"
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as fh:
        fh.truncate(400 * 2**20)
    out = tmp_path / "killed.tar"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "chiso", "backup", "--out", str(out)],
                                env=_env(world["url"], tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        temp = tmp_path / f".killed.tar.tmp-{proc.pid}"
        deadline = time.monotonic() + 60
        while not (temp.exists() and temp.stat().st_size > 50 * 2**20):
            assert proc.poll() is None and time.monotonic() < deadline, "the backup ended before it could be killed"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        big.unlink()
    assert not out.exists()
    assert temp.exists() and temp.stat().st_size > 0
    (tmp_path / "t").mkdir()
    refused(capsys, "restore", str(temp), url=f"sqlite:///{tmp_path / 't' / 'x.sqlite3'}", says="damaged or incomplete")
    assert files_under(tmp_path / "t") == []
    # The next backup to that name is whole, and clears what the killed one left.
    assert run(capsys, "backup", "--out", str(out), url=world["url"])[0] == 0
    assert out.exists() and not temp.exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
