"""The index as it stood: ``--as-of`` and ``--version`` give a version's figures to the
byte after later imports and compactions, keep the current counts apart, and refuse what
is not retained; ``chiso index diff`` names the units, indicators and dossiers that moved."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chiso.cli import main
from chiso.dossiers.store import DossierStore, local_time, registry_units
from chiso.index import compute, kept, service
from chiso.methods.loader import default_method
from index_cases import A, CASES, SEPT, write

#: d4, open and past due in version 1, settled before its due date in version 2.
LATER = [c if c[0] != "d4" else ("d4", "2025-09-10 09:00", "2025-09-25 17:00", "2025-09-24 16:00",
                                 "settled", "direct", "") for c in CASES]


@pytest.fixture
def store(tmp_path, loaded):
    s = DossierStore(tmp_path / "store")
    assert s.import_files([write(tmp_path / "sept.csv", CASES)], source="test", units=registry_units(loaded)).version == 1
    return s


def dump(rows) -> str:
    return json.dumps(rows, ensure_ascii=False, sort_keys=True)


def test_a_version_gives_its_figures_after_later_imports_and_compaction(loaded, store, tmp_path, monkeypatch):
    first = dump(service.index_766(loaded, store, SEPT))
    upd = store.import_files([write(tmp_path / "later.csv", LATER)], source="test", units=registry_units(loaded))
    assert upd.version == 2
    second = dump(service.index_766(loaded, store, SEPT))
    assert second != first

    def no_full_recount(*_args, **_kwargs):
        raise AssertionError("the store was recounted in full")

    # Brought back from the current counts (the import taken out), to the byte.
    with monkeypatch.context() as m:
        m.setattr(compute, "day_table", no_full_recount)
        assert dump(service.index_766(loaded, store, SEPT, at_version=1)) == first
    assert dump(service.index_766(loaded, store, SEPT, at_version=2)) == second
    # The counts of version 1 are kept apart; the current ones stay where they were.
    method = default_method("766")
    cache = store.root / "cache"
    current_key = kept._cache_key(store, method)
    assert (cache / f"{current_key}.days.parquet").exists()
    assert len(list((cache / kept.AS_OF_FOLDER).glob("*.days.parquet"))) == 1
    store.compact(retain_seconds=0)
    assert dump(service.index_766(loaded, store, SEPT, at_version=1)) == first
    assert dump(service.index_766(loaded, store, SEPT)) == second
    # Counted afresh from the records (no kept counts), version 1 is still the same.
    import shutil

    shutil.rmtree(cache)
    assert dump(service.index_766(loaded, store, SEPT, at_version=1)) == first
    got = service.explain(loaded, store, SEPT, unit=A, indicator="2.1", at_version=1)
    assert sorted(got["numerator_ids"]) == ["d1", "d3", "d5", "d8"]


def test_diff_names_the_units_indicators_and_dossiers_that_moved(loaded, store, tmp_path):
    store.import_files([write(tmp_path / "later.csv", LATER)], source="test", units=registry_units(loaded))
    got = service.diff(loaded, store, SEPT, from_version=1, to_version=2)
    assert (got["from"]["version"], got["to"]["version"]) == (1, 2)
    units = {u["unit"]: u for u in got["units"]}
    assert {A, "68"} <= set(units)
    ind = units[A]["indicators"]["2.1"]
    assert (ind["from"]["numerator"], ind["to"]["numerator"]) == (4, 5)
    assert (ind["numerator_entered"], ind["numerator_left"]) == (["d4"], [])
    assert (ind["denominator_entered"], ind["denominator_left"]) == ([], [])
    assert units["68"]["indicators"]["2.1"]["numerator_entered"] == ["d4"]
    # Back the other way, the same dossier leaves.
    back = {u["unit"]: u for u in service.diff(loaded, store, SEPT, from_version=2, to_version=1)["units"]}
    assert back[A]["indicators"]["2.1"]["numerator_left"] == ["d4"]
    # Nothing moves between a version and itself.
    assert service.diff(loaded, store, SEPT, from_version=2, to_version=2)["units"] == []


def test_a_diff_reads_the_store_once_a_side_whatever_moved(loaded, store, tmp_path, monkeypatch):
    """The records an import touched are read from the store once for each side of a diff,
    into a table the listing queries read: a query per moved unit and indicator over the
    whole store took hours at 10 million dossiers."""
    store.import_files([write(tmp_path / "later.csv", LATER)], source="test", units=registry_units(loaded))
    opened = []
    real = service._changed_records_connection

    def counted(*args, **kwargs):
        con = real(*args, **kwargs)
        opened.append(con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'dossiers'").fetchone()[0])
        return con

    monkeypatch.setattr(service, "_changed_records_connection", counted)
    got = service.diff(loaded, store, SEPT, from_version=1, to_version=2)
    assert sum(len(u["indicators"]) for u in got["units"]) >= 2  # several units and indicators moved
    assert len(opened) == 2 and not any("read_parquet" in sql for sql in opened), opened


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_as_of_and_version(loaded_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_url)
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHISO_LANG", "en")  # the messages as written (the msgids)
    index = ["index", "766", "--period", "2025-09", "--format", "json"]
    assert _run(capsys, "dossiers", "import", str(write(tmp_path / "s.csv", CASES)), "--source", "t")[0] == 0
    code, first, _err = _run(capsys, *index)
    assert code == 0
    assert _run(capsys, "dossiers", "import", str(write(tmp_path / "l.csv", LATER)), "--source", "t")[0] == 0
    code, second, _err = _run(capsys, *index)
    assert code == 0 and second != first

    assert _run(capsys, *index, "--version", "1") == (0, first, "")
    assert _run(capsys, *index, "--version", "2") == (0, second, "")
    store = DossierStore(tmp_path / "records")  # the test's own records folder (conftest)
    v1, v2 = store.versions()
    # The commit time of version 1 with an offset, in UTC, and without an offset (local).
    for moment in (local_time(v1.committed_at).isoformat(),
                   v1.committed_at.astimezone().astimezone(tz=None).isoformat().replace("+00:00", "Z"),
                   local_time(v2.committed_at - timedelta(microseconds=1)).replace(tzinfo=None).isoformat()):
        assert _run(capsys, *index, "--as-of", moment) == (0, first, ""), moment
    assert _run(capsys, *index, "--as-of", local_time(v2.committed_at).isoformat())[1] == second

    code, out, _err = _run(capsys, "index", "diff", "--period", "2025-09", "--from", "1", "--to", "2", "--format", "json")
    assert code == 0
    moved = {u["unit"]: u for u in json.loads(out)["units"]}
    assert moved["24781"]["indicators"]["2.1"]["numerator_entered"] == ["d4"]

    # Refused, each with one line and a non-zero exit; nothing on stdout.
    for args, words in (
        (["--version", "1", "--as-of", "2026-01-01T00:00"], "either --as-of or --version"),
        (["--version", "3"], "does not exist yet"),
        (["--as-of", "2999-01-01T00:00:00Z"], "in the future"),
        (["--as-of", "2001-01-01T00:00"], "No records had been imported by 2001-01-01T00:00:00+07:00"),
        (["--as-of", "yesterday"], "Not a date and time"),
    ):
        code, out, err = _run(capsys, *index, *args)
        assert code != 0 and out == "" and words in err and err.count("\n") == 1, (args, err)

    # Beyond the retention: refused after compaction.
    store.compact(retain_seconds=0, retention_days=0)
    code, out, err = _run(capsys, *index, "--version", "1")
    assert code != 0 and out == "" and "Version 1 is no longer retained" in err and err.count("\n") == 1
    code, out, err = _run(capsys, "index", "diff", "--period", "2025-09", "--from", "1", "--to", "2")
    assert code != 0 and "no longer retained" in err
    assert _run(capsys, *index, "--version", "2") == (0, second, "")
