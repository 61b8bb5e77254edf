"""The demo dossier generator: deterministic, realistic in the ways the index needs."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from chiso.calendar import default_calendar
from chiso.dossiers.demo import DemoUnit, generate

UNITS = [DemoUnit(f"{24000 + i}", "commune", "ward" if i % 3 == 0 else "commune") for i in range(30)] + [
    DemoUnit(f"68.S{i}", "agency", "department") for i in range(5)
] + [DemoUnit("68.VPTU", "agency", "party")]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return generate(province="68", units=UNITS, n=20000, seed=7, year=2025,
                    out_dir=tmp_path_factory.mktemp("demo"), until=date(2025, 11, 30))


def rows(path, sql):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW d AS SELECT * FROM read_csv('{path}', all_varchar=true)")
    return con.execute(sql).fetchall()


def test_same_seed_same_rows(files, tmp_path):
    again = generate(province="68", units=UNITS, n=20000, seed=7, year=2025, out_dir=tmp_path, until=date(2025, 11, 30))
    assert again.dossiers.read_bytes() == files.dossiers.read_bytes()
    other = generate(province="68", units=UNITS, n=20000, seed=8, year=2025, out_dir=tmp_path / "o", until=date(2025, 11, 30))
    assert other.dossiers.read_bytes() != files.dossiers.read_bytes()


def test_every_row_is_there_with_a_few_dirty_ones(files):
    [(count, unknown, bad_date, backwards)] = rows(files.dossiers, """
        SELECT count(*), count(*) FILTER (unit_code LIKE 'XX%'),
               count(*) FILTER (try_strptime(received_at, '%Y-%m-%dT%H:%M:%S') IS NULL),
               count(*) FILTER (finished_at < received_at AND received_at LIKE '2%')
        FROM d""")
    assert count == 20000
    assert 0 < unknown < 100 and 0 < bad_date < 20 and 0 < backwards < 30
    # Party bodies handle no administrative procedures: they receive no dossiers.
    assert rows(files.dossiers, "SELECT count(*) FROM d WHERE unit_code = '68.VPTU'") == [(0,)]


def test_appointments_fall_on_working_days_and_open_dossiers_exist(files):
    cal = default_calendar()
    dues = rows(files.dossiers, "SELECT DISTINCT due_at FROM d")
    assert all(cal.is_working_day(datetime.fromisoformat(d).date()) for (d,) in dues)
    [(open_,)] = rows(files.dossiers, "SELECT count(*) FROM d WHERE finished_at IS NULL")
    assert open_ > 0
    [(last,)] = rows(files.dossiers, "SELECT max(received_at) FROM d WHERE received_at LIKE '2025%'")
    assert last < "2025-12-01"


def test_units_improve_over_the_year(files):
    [(h1, h2)] = rows(files.dossiers, """
        SELECT avg((channel = 'online')::INT) FILTER (received_at < '2025-07'),
               avg((channel = 'online')::INT) FILTER (received_at >= '2025-07')
        FROM d""")
    assert h2 > h1 + 0.05


def test_feedback_and_catalogue_are_written(files):
    assert rows(files.feedback, "SELECT count(*) FROM d")[0][0] == 100
    codes = {c for (c,) in rows(files.procedures, "SELECT procedure_code FROM d")}
    used = {c for (c,) in rows(files.dossiers, "SELECT DISTINCT procedure_code FROM d")}
    assert used <= codes
