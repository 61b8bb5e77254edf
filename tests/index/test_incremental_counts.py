"""The per-day counts kept between imports: after an import, the next reader brings the
previous version's counts forward from the imported dossiers alone, and gets exactly what a
full recount of the store gives."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import pytest

from chiso.dossiers.store import DossierStore
from chiso.index import compute, presence, service
from chiso.methods.loader import default_method

UNITS = [("A", None, None, None), ("B", None, None, None)]
STATUSES = ["settled", "processing", "returned", "settled", "withdrawn"]


def rows(ids, *, shift: int = 0, late: bool = False):
    out = []
    for i in ids:
        received = datetime(2026, 1, 1, 8) + timedelta(days=(i * 7) % 300 + shift)
        status = STATUSES[(i + shift) % len(STATUSES)]
        finished = received + timedelta(days=(9 if late else 2) + i % 3) if status != "processing" else None
        out.append({
            "dossier_id": f"d{i}", "procedure_code": f"1.{i % 4:03d}", "unit_code": "AB"[i % 2],
            "received_at": received, "due_at": received + timedelta(days=5), "finished_at": finished,
            "status": status, "channel": "online" if i % 3 else "direct",
        })
    return out


def tables(con):
    """day_counts and day_keys without the rows a merge leaves at zero."""
    cols = [d[0] for d in con.execute("SELECT * FROM day_counts LIMIT 0").description if d[0] not in ("unit", "day")]
    nonzero = " OR ".join(f'"{c}" <> 0' for c in cols)
    counts = con.execute(f"SELECT * FROM day_counts WHERE {nonzero} ORDER BY unit, day").fetchall()
    keys = con.execute("SELECT * FROM day_keys WHERE n <> 0 ORDER BY ALL").fetchall()
    return counts, keys


@pytest.fixture
def store(tmp_path):
    s = DossierStore(tmp_path / "store")
    s.import_rows(rows(range(200)), source="t", units=UNITS)
    return s


def test_the_next_reader_after_an_import_counts_only_the_imported_dossiers(store, monkeypatch):
    method = default_method("766")
    service.counting_connection(store, method).close()  # counts of version 1 kept
    # Version 2 brings 50 dossiers again (other status, late) and 30 new ones.
    summary = store.import_rows(rows(range(150, 230), shift=3, late=True), source="t", units=UNITS)
    assert summary.inserted == 30 and summary.updated >= 20  # some changes are older than stored: kept

    def no_full_recount(*_args, **_kwargs):
        raise AssertionError("the store was recounted in full")

    with monkeypatch.context() as m:
        m.setattr(compute, "day_table", no_full_recount)
        con = service.counting_connection(store, method)
    incremental = tables(con)
    con.close()

    shutil.rmtree(store.root / "cache")
    con = service.counting_connection(store, method)
    full = tables(con)
    con.close()
    assert incremental == full
    assert len(full[0]) > 50


def test_after_a_compaction_the_counts_are_rebuilt(store, monkeypatch):
    method = default_method("766")
    service.counting_connection(store, method).close()
    store.import_rows(rows(range(100, 120), shift=1), source="t", units=UNITS)
    store.compact(retain_seconds=0)
    calls = []
    real = compute.day_table
    monkeypatch.setattr(compute, "day_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    con = service.counting_connection(store, method)
    con.close()
    assert calls == [1]


def test_the_index_is_the_same_either_way(store):
    from chiso.periods import parse_period

    method = default_method("766")
    targets = [compute.Target("A", "commune", ("A",)), compute.Target("B", "commune", ("B",))]
    periods = [parse_period("2026-Q1"), parse_period("2026-06"), parse_period("2026")]
    service.counting_connection(store, method).close()
    store.import_rows(rows(range(0, 40), shift=2, late=True), source="t", units=UNITS)
    con = service.counting_connection(store, method)
    brought = compute.period_counts(con, method, targets, periods)
    con.close()
    shutil.rmtree(store.root / "cache")
    con = service.counting_connection(store, method)
    rebuilt = compute.period_counts(con, method, targets, periods)
    con.close()
    assert brought.keys() == rebuilt.keys()
    for key, values in rebuilt.items():
        assert brought[key] == pytest.approx(values), key


def test_readers_in_several_threads_build_the_counts_once_and_all_read_them(store, monkeypatch):
    """A server's requests arrive together after an import: one builds, the others wait and
    read the same files (two writers of one temp file failed before)."""
    from concurrent.futures import ThreadPoolExecutor

    method = default_method("766")
    calls = []
    real = compute.day_table
    monkeypatch.setattr(compute, "day_table", lambda *a, **k: calls.append(1) or real(*a, **k))

    def read(_i):
        con = service.counting_connection(store, method)
        try:
            return con.execute("SELECT count(*) FROM day_counts").fetchone()[0]
        finally:
            con.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        sizes = list(pool.map(read, range(6)))
    assert len(set(sizes)) == 1 and sizes[0] > 0
    assert calls == [1]


def test_on_demo_data_every_unit_and_period_is_the_same_brought_forward_as_recounted(loaded, demo_records, tmp_path,
                                                                                      monkeypatch):
    """The demonstration's dossiers, procedures and feedback for province 68; then a batch
    as a one-stop system sends it (open dossiers now settled, some late; new ones; a
    status corrected): every measure and every score of every unit and the province, for
    every period of the year, brought forward from the kept counts equals a full recount,
    to the value (sums are kept in whole millionths, so no float rounding is allowed)."""
    from datetime import date

    from chiso.dossiers import demo
    from chiso.dossiers.store import registry_units
    from chiso.periods import parse_period, periods_of_year
    from chiso.scoring.rules import score_many

    year, until = 2026, date(2026, 11, 26)
    store = demo_records(6000, seed=7)
    method = default_method("766")
    targets = service.targets(loaded, parse_period(str(year)), province="68")
    periods = periods_of_year(year)
    service.counting_connection(store, method).close()  # the counts a running server keeps

    batch = tmp_path / "batch.csv"
    con = store.connect()
    columns = ", ".join(demo.DOSSIER_COLUMNS)
    con.execute(f"""
        COPY (
            (SELECT {columns.replace("dossier_id", "dossier_id || '-new' AS dossier_id", 1)}
             FROM dossiers WHERE received_at >= DATE '2026-11-01' ORDER BY dossier_id LIMIT 300)
            UNION ALL
            (SELECT {columns.replace("finished_at", "TIMESTAMP '2026-11-25 16:30:00' AS finished_at", 1)
                            .replace("status", "'settled' AS status", 1)}
             FROM dossiers WHERE finished_at IS NULL ORDER BY dossier_id LIMIT 300)
            UNION ALL
            (SELECT {columns.replace("channel", "'online' AS channel", 1)}
             FROM dossiers WHERE channel <> 'online' AND finished_at IS NOT NULL ORDER BY dossier_id LIMIT 200)
        ) TO '{batch}' (HEADER)
    """)
    con.close()
    summary = store.import_files([batch], source="demo", units=registry_units(loaded))
    assert summary.inserted > 250 and summary.updated > 250  # a few of the demo's dirty rows are rejected

    def everything():
        con = service.counting_connection(store, method)
        try:
            with compute.gc_paused():
                counts = compute.period_counts(con, method, targets, periods, today=until)
            return tables(con), counts, score_many(method, counts, {t.code: t.level for t in targets})
        finally:
            con.close()

    with monkeypatch.context() as m:
        m.setattr(compute, "day_table", lambda *_a, **_k: pytest.fail("the store was recounted in full"))
        brought = everything()
    shutil.rmtree(store.root / "cache")
    recounted = everything()
    assert brought[0] == recounted[0]  # the per-day tables, row for row
    assert brought[1] == recounted[1]  # every measure of every unit × period, exactly
    assert brought[2] == recounted[2]  # and every score
    assert len(recounted[1]) == len(targets) * len(periods) > 1000


# The records' selection does not depend on the registry's database: SQLite's twin alone.
@pytest.mark.parametrize("loaded_store_url", ["sqlite"], indirect=True)
def test_the_procedures_present_in_each_period_are_the_same_marked_by_bits_or_listed(loaded, demo_records,
                                                                                     monkeypatch):
    """Which procedures (and other keys) occur in each period: marked as bits of one number
    per key and period bounds (up to ``MASK_BITS`` bounds), or listed bucket by bucket as
    before; the same rows, and so the same distinct and catalogue measures, for every unit
    and the province over the year's periods and for periods over several years."""
    from chiso.periods import parse_period, periods_of_year

    store = demo_records(3000, seed=11)
    method = default_method("766")
    targets = service.targets(loaded, parse_period("2026"), province="68")
    con = service.counting_connection(store, method)
    try:
        for periods in (periods_of_year(2026), [parse_period(p) for p in ("2025", "2026-Q3", "2026-W40", "2026-YTD-11")]):
            compute._totals(con, method, targets, periods, None)  # the tables present() reads
            presence.present(con, periods)
            marked = con.execute("SELECT * FROM present ORDER BY ALL").fetchall()
            with monkeypatch.context() as m:
                m.setattr(presence, "MASK_BITS", 0)
                presence.present(con, periods)
            listed = con.execute("SELECT * FROM present ORDER BY ALL").fetchall()
            assert marked == listed and len(marked) > 100
            assert {r[3] for r in marked} >= {"2026-Q3", "2026-W40", "2026-YTD-11"}
    finally:
        con.close()
