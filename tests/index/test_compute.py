"""Incremental counting: an import's change applied to the per-day counts gives exactly a
full recount, for every measure, target and period."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from chiso.index import compute
from chiso.methods.loader import default_method
from chiso.periods import periods_of_year

COLUMNS = """dossier_id VARCHAR, procedure_code VARCHAR, unit_code VARCHAR, received_at TIMESTAMP,
    due_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, channel VARCHAR, has_fee BOOLEAN,
    paid_online BOOLEAN, digitized BOOLEAN, e_result BOOLEAN, requires_paper_result BOOLEAN,
    synced BOOLEAN, supplement_days DOUBLE, reused BOOLEAN, population_db BOOLEAN, rating VARCHAR,
    complaint BOOLEAN, supplement_count DOUBLE"""


def _rows(seed: int, n: int, units, *, suffix: str = "") -> str:
    """SQL for n deterministic pseudo-random dossiers."""
    u = ", ".join(f"'{x}'" for x in units)
    return f"""
        SELECT 'd' || i || '{suffix}', 'P' || (i % 5), [{u}][1 + i % {len(units)}],
               TIMESTAMP '2026-01-01 08:00:00' + to_days(CAST(i * 7 % 300 AS INTEGER)),
               TIMESTAMP '2026-01-01 17:00:00' + to_days(CAST(i * 7 % 300 + 3 + i % 9 AS INTEGER)),
               CASE WHEN i % 4 = 0 THEN NULL
                    ELSE TIMESTAMP '2026-01-01 10:00:00' + to_days(CAST(i * 7 % 300 + i % 13 AS INTEGER)) END,
               CASE WHEN i % 29 = 0 THEN 'submitted' WHEN i % 4 = 0 THEN 'processing' ELSE 'settled' END,
               CASE WHEN (i * {seed}) % 3 = 0 THEN 'online' ELSE 'direct' END,
               i % 2 = 0, i % 6 = 0, i % 5 <> 0, i % 3 = 0, i % 2 = 1, TRUE,
               CASE WHEN i % 11 = 0 THEN 2.5 ELSE 0 END, i % 7 = 0, i % 4 = 1,
               CASE WHEN i % 17 = 0 THEN 'dislike' ELSE 'satisfied' END, FALSE,
               CASE WHEN i % 23 = 0 THEN 2 ELSE i % 2 END
        FROM range({n}) t(i)
    """


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(f"CREATE TABLE dossiers({COLUMNS})")
    c.execute(f"INSERT INTO dossiers {_rows(1, 600, ['A', 'B', 'C'])}")
    c.execute("""CREATE TABLE procedures AS SELECT 'P' || i AS procedure_code, 'Thủ tục ' || i AS name,
                 CASE WHEN i < 3 THEN 'commune' ELSE 'province' END AS levels,
                 CASE WHEN i % 2 = 0 THEN 'full' ELSE 'partial' END AS online_level,
                 i % 2 = 0 AS has_fee, TRUE AS payment_integrated, 5.0 AS statutory_days,
                 CASE WHEN i % 2 = 0 THEN 'working_days' END AS statutory_unit, TRUE AS paper_result,
                 DATE '2026-03-01' AS decision_date, DATE '2026-03-20' AS legal_effective_date,
                 DATE '2026-03-05' AS published_date, TRUE AS complete_publication FROM range(5) t(i)""")
    yield c
    c.close()


def test_applying_a_change_equals_a_full_recount(con):
    method = default_method("766")
    targets = [compute.Target("A", "commune", ("A",)), compute.Target("B", "commune", ("B",)),
               compute.Target("C", "agency", ("C",)), compute.Target("P", "province", ("A", "B", "C"))]
    periods = periods_of_year(2026)
    compute.day_table(con, method)
    # The change: 40 dossiers finished and re-channelled, 50 new ones (one on a day past
    # every record so far), as an import would bring them.
    con.execute("CREATE TABLE old_versions AS SELECT * FROM dossiers WHERE finished_at IS NULL LIMIT 40")
    con.execute("""CREATE TABLE new_versions AS
        SELECT * REPLACE (TIMESTAMP '2026-11-20 15:00:00' AS finished_at, 'settled' AS status, 'online' AS channel)
        FROM old_versions""")
    con.execute(f"INSERT INTO new_versions {_rows(2, 50, ['A', 'C'], suffix='n')}")
    con.execute("UPDATE new_versions SET received_at = TIMESTAMP '2027-06-01 09:00:00' WHERE dossier_id = 'd0n'")
    change = compute.apply_changes(con, method, old="old_versions", new="new_versions")
    incremental = compute.period_counts(con, method, targets, periods)

    con.execute("DELETE FROM dossiers WHERE dossier_id IN (SELECT dossier_id FROM old_versions)")
    con.execute("INSERT INTO dossiers SELECT * FROM new_versions")
    compute.day_table(con, method)
    full = compute.period_counts(con, method, targets, periods)
    assert incremental.keys() == full.keys()
    for key in full:
        for name, value in full[key].items():
            assert incremental[key][name] == pytest.approx(value), (key, name)
    # Periods ending before the first day that moved are untouched, so need no recount.
    assert change.first_day is not None and change.units <= {"A", "B", "C"}
    before = [p for p in periods if p not in change.periods(periods)]
    assert all(p.end < change.first_day for p in before)
    assert change.first_day <= date(2026, 1, 31)  # the new dossiers start in January


def test_a_change_joined_to_kept_counts_equals_the_change_merged_into_tables(con, tmp_path):
    """Kept counts read as views take a change as views of the kept rows joined with it, to
    the same rows as MERGE into tables gives; a second change before those are written out
    is refused (it would drop the rows the first reads)."""
    method = default_method("766")
    compute.day_table(con, method)
    for table in ("day_counts", "day_keys"):
        con.execute(f"COPY {table} TO '{tmp_path / table}.parquet' (FORMAT parquet)")
    con.execute("CREATE TABLE old_versions AS SELECT * FROM dossiers WHERE finished_at IS NULL LIMIT 40")
    con.execute("""CREATE TABLE new_versions AS
        SELECT * REPLACE (TIMESTAMP '2026-11-20 15:00:00' AS finished_at, 'settled' AS status) FROM old_versions""")
    con.execute(f"INSERT INTO new_versions {_rows(2, 50, ['A', 'C'], suffix='n')}")
    merged = compute.apply_changes(con, method, old="old_versions", new="new_versions")
    tables = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("day_counts", "day_keys")}
    for table in ("day_counts", "day_keys"):
        con.execute(f"DROP TABLE {table}")
        con.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM read_parquet('{tmp_path / table}.parquet')")
    joined = compute.apply_changes(con, method, old="old_versions", new="new_versions")
    assert joined == merged
    for table, rows in tables.items():
        assert con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() == rows, table
    with pytest.raises(RuntimeError, match="not written out"):
        compute.apply_changes(con, method, old="old_versions", new="new_versions")


def test_the_collector_pause_is_shared_by_concurrent_blocks_and_undone_by_the_last():
    import gc
    import threading

    from chiso.index.compute import gc_paused

    assert gc.isenabled()
    inside, leave = threading.Barrier(3), threading.Event()

    def worker():
        with gc_paused():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled()
    with gc_paused():  # a nested block in a third thread leaves it paused for the others
        assert not gc.isenabled()
    assert not gc.isenabled()
    leave.set()
    for t in threads:
        t.join()
    assert gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_two_pass_day_tables_equal_one_scan_per_source(con):
    """day_table scans the records twice (:func:`compute._two_pass_sql`); the tables are
    exactly those of one scan per day source and key label, types included."""
    method = default_method("766")
    compute.day_table(con, method)
    cols = [c for cs in compute._parts(method).values() for c, _v, _w in cs]
    summed = ", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in cols)
    con.execute(f"CREATE TABLE per_source AS SELECT unit, day, {summed} FROM ({compute._day_sql(method, '')}) "
                "GROUP BY unit, day")
    con.execute(f"CREATE TABLE per_label AS {compute._keys_sql(method, 'records')}")
    for mine, theirs in (("day_counts", "per_source"), ("day_keys", "per_label")):
        assert con.execute(f"DESCRIBE {mine}").fetchall() == con.execute(f"DESCRIBE {theirs}").fetchall()
        assert sorted(con.execute(f"SELECT * FROM {mine}").fetchall(), key=repr) == \
            sorted(con.execute(f"SELECT * FROM {theirs}").fetchall(), key=repr)
    assert con.execute("SELECT count(*) FROM day_keys").fetchone()[0] > 0
    # For some units only, as a reader of one unit asks.
    compute.day_table(con, method, units=["A"])
    assert {r[0] for r in con.execute("SELECT DISTINCT unit FROM day_counts").fetchall()} == {"A"}
