"""Synthetic but realistic dossier records (hồ sơ TTHC) for a province's real units.

Used by the README's run command, the tests of the index and the benchmarks. Generation
runs inside DuckDB so that ten million rows take seconds; every random draw is a hash of
(seed, row, purpose), so the same seed gives the same rows on any machine and any number
of threads.

What makes the data realistic enough to exercise the index:
- volume by unit: wards receive more than communes, departments more than Party bodies;
- seasonality: few dossiers at weekends and during Tết, more before the year end;
- each unit has its own propensities (lateness, online submission, online payment,
  digitisation) and improves over the year, so rankings differ and move;
- dossiers still open at the end of the data window, supplement requests, withdrawals,
  rejections;
- a few dirty rows (unknown unit, finished before received, unreadable date) so that the
  import's rejects are visible.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from chiso import settings
from chiso.calendar import default_calendar
from chiso.clock import local_now

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Procedure names by the level that handles them; codes are synthetic (prefix 9.) so they
#: can never be mistaken for entries of the national procedure database.
PROCEDURES = {
    "commune": [
        ("Đăng ký khai sinh", 1, False, True),
        ("Đăng ký kết hôn", 3, False, True),
        ("Đăng ký khai tử", 1, False, True),
        ("Chứng thực bản sao từ bản chính", 1, True, True),
        ("Chứng thực chữ ký", 1, True, True),
        ("Cấp bản sao trích lục hộ tịch", 1, True, True),
        ("Đăng ký thường trú", 7, False, False),
        ("Xác nhận tình trạng hôn nhân", 3, True, True),
        ("Đăng ký hộ kinh doanh", 3, True, True),
        ("Cấp giấy phép xây dựng nhà ở riêng lẻ", 15, True, True),
        ("Giải quyết trợ cấp xã hội hằng tháng", 10, False, False),
        ("Đăng ký biến động đất đai", 10, True, True),
    ],
    "agency": [
        ("Cấp giấy chứng nhận đăng ký doanh nghiệp", 3, True, True),
        ("Cấp giấy phép lái xe", 10, True, True),
        ("Cấp giấy phép kinh doanh vận tải", 5, True, True),
        ("Cấp chứng chỉ hành nghề", 10, True, True),
        ("Cấp giấy phép môi trường", 20, True, True),
        ("Thẩm định dự án đầu tư", 20, False, True),
        ("Cấp phiếu lý lịch tư pháp", 10, True, True),
        ("Cấp giấy phép hoạt động khám bệnh, chữa bệnh", 20, True, True),
        ("Công nhận trường đạt chuẩn quốc gia", 20, False, True),
        ("Cấp giấy phép lao động cho người nước ngoài", 5, True, True),
    ],
}

DOSSIER_COLUMNS = [
    "dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status",
    "channel", "has_fee", "paid_online", "digitized", "e_result", "requires_paper_result", "synced",
    "supplement_days", "reused", "population_db", "rating",
]


@dataclass(frozen=True)
class DemoUnit:
    code: str
    level: str  # commune | agency
    kind: str   # ward, commune, special_zone, department, party, ...


def units_receiving_dossiers(session: Session, province: str, day: date) -> list[DemoUnit]:
    """The units of ``province`` on ``day`` that receive dossiers: every commune, and the
    agencies that handle administrative procedures (every agency when the province's
    template has no such group)."""
    from chiso.errors import NotFound
    from chiso.units import service

    views = service.list_units(session, within=province, as_of=day)
    try:
        handling = {u.code for u in service.group_members(session, "agencies_with_procedures", as_of=day)}
    except NotFound:
        handling = {v.code for v in views if v.level == "agency"}
    return [DemoUnit(v.code, v.level, v.kind) for v in views
            if v.level == "commune" or (v.level == "agency" and v.code in handling)]


@dataclass(frozen=True)
class DemoFiles:
    dossiers: Path
    procedures: Path
    feedback: Path
    rows: int


def _unit_weight(u: DemoUnit, rng: random.Random) -> float:
    base = {"ward": 3.0, "commune": 1.0, "special_zone": 0.5, "township": 1.5, "department": 4.0,
            "office": 2.0, "inspectorate": 0.3, "board": 1.0}.get(u.kind, 0.0)
    return base * (0.5 + rng.random())


def procedures_for(province: str, units: list[DemoUnit]) -> list[dict[str, Any]]:
    """The demo procedure catalogue: one entry per (name, level), with the catalogue columns."""
    rows = []
    for level, items in PROCEDURES.items():
        for i, (name, days, fee, paper) in enumerate(items):
            online = "full" if days <= 3 else ("partial" if days <= 10 else "none" if i % 4 == 0 else "partial")
            rows.append({
                "procedure_code": f"9.{1 if level == 'commune' else 2}{i:04d}",
                "name": name,
                "levels": "commune" if level == "commune" else "province",
                "online_level": online,
                "has_fee": fee,
                "payment_integrated": fee and i % 5 != 0,
                "statutory_days": days,
                # As the one-stop shops' appointments count them (see prepare_tables).
                "statutory_unit": "working_days",
                "paper_result": paper,
                "decision_date": "2025-06-20",
                "legal_effective_date": "2025-07-01",
                "published_date": "2025-06-23" if i % 7 else "2025-07-08",
                "complete_publication": i % 9 != 0,
            })
    return rows


def generate(
    *, province: str, units: list[DemoUnit], n: int, seed: int, year: int, out_dir: Path,
    until: date | None = None,
) -> DemoFiles:
    """Write ``dossiers.csv``, ``procedures.csv`` and ``feedback.csv`` into ``out_dir``.

    Dossiers are received between 1 January of ``year`` and ``until`` (default 31 December),
    never after now: ``until`` is brought back to yesterday when it is today or later (the
    rows stay the same whatever the hour). Those whose processing would end after ``until``
    are still open."""
    out_dir.mkdir(parents=True, exist_ok=True)
    yesterday = local_now().date() - timedelta(days=1)
    until = min(until or date(year, 12, 31), yesterday)
    if until < date(year, 1, 1):
        raise ValueError(f"no day of {year} is over yet: nothing can have been received")
    rng = random.Random(seed)
    units = [u for u in units if u.level in PROCEDURES]
    weights = {u.code: _unit_weight(u, rng) for u in units}
    units = [u for u in units if weights[u.code] > 0]
    if not units:
        raise ValueError("no unit can receive dossiers")
    procedures = procedures_for(province, units)

    con = duckdb.connect()
    # Ten million rows sorted for a deterministic file would otherwise take most of the
    # machine's memory; DuckDB spills to the output folder instead.
    con.execute("SET memory_limit = ?", [settings.get("duckdb_memory_limit")])
    con.execute("SET temp_directory = ?", [str(out_dir / ".spill")])
    prepare_tables(con, units, weights, procedures, year=year, until=until)

    dossiers = out_dir / "dossiers.csv"
    con.execute(f"""
    COPY (
    SELECT {", ".join(DOSSIER_COLUMNS)} FROM (
    {dossiers_select(n=n, seed=seed, province=province, year=year, until=until)}
    ) ORDER BY i
    ) TO '{dossiers}' (HEADER, DELIMITER ',')
    """)

    procedures_path = out_dir / "procedures.csv"
    _write_csv(procedures_path, procedures)
    feedback_path = out_dir / "feedback.csv"
    _write_csv(feedback_path, _feedback(units, rng, max(1, n // 200), year, until))
    con.close()
    return DemoFiles(dossiers, procedures_path, feedback_path, n)


def prepare_tables(con: duckdb.DuckDBPyConnection, units: list[DemoUnit], weights: dict[str, float],
                   procedures: list[dict[str, Any]], *, year: int, until: date) -> None:
    """The tables :func:`dossiers_select` draws from: units, procedures, days with their
    weights, and the appointment date of each (day, statutory time)."""
    con.execute("CREATE TABLE units(idx INTEGER, code VARCHAR, level VARCHAR, weight DOUBLE)")
    con.executemany("INSERT INTO units VALUES (?, ?, ?, ?)",
                    [(i, u.code, u.level, weights[u.code]) for i, u in enumerate(units)])
    con.execute("""CREATE TABLE procs(idx INTEGER, level VARCHAR, code VARCHAR, days INTEGER,
                   fee BOOLEAN, paper BOOLEAN, online_level VARCHAR)""")
    con.executemany("INSERT INTO procs VALUES (?, ?, ?, ?, ?, ?, ?)", [
        (i, "commune" if p["levels"] == "commune" else "agency", p["procedure_code"], p["statutory_days"],
         p["has_fee"], p["paper_result"], p["online_level"]) for i, p in enumerate(procedures)
    ])
    # Slot tables turn a uniform draw into a weighted choice with an equi-join.
    con.execute(_slots_sql("unit_slots", "units", "weight", 20000))
    cal = default_calendar()
    days = []
    d = date(year, 1, 1)
    while d <= until:
        w = 1.0 if cal.is_working_day(d) else (0.08 if d.weekday() == 5 else 0.02)
        w *= 1.0 + 0.25 * (d.month in (3, 10, 11, 12)) - 0.2 * (d.month in (2, 7))
        days.append((d, w))
        d += timedelta(days=1)
    con.execute("CREATE TABLE days(idx INTEGER, day DATE, weight DOUBLE)")
    con.executemany("INSERT INTO days VALUES (?, ?, ?)", [(i, d, w) for i, (d, w) in enumerate(days)])
    con.execute(_slots_sql("day_slots", "days", "weight", 20000))

    # Appointment dates count working days, as the one-stop shops' software does.
    con.execute("CREATE TABLE dues(day DATE, days INTEGER, due DATE)")
    stat_days = sorted({p["statutory_days"] for p in procedures})
    con.executemany("INSERT INTO dues VALUES (?, ?, ?)", [
        (d, k, cal.add_working_days(d, k)) for d, _w in days for k in stat_days
    ])



def dossiers_select(*, n: int, seed: int, province: str, year: int, until: date, start: int = 0) -> str:
    """SELECT of ``n`` demo dossiers (column ``i`` and :data:`DOSSIER_COLUMNS`, as the
    text a one-stop system exports, a few rows deliberately dirty), over the tables of
    :func:`prepare_tables`. Each row is a function of its number ``i`` alone, so rows
    ``start`` to ``start + n`` are the same rows whether drawn in one piece or in several."""
    return f"""
    WITH draws AS (
        SELECT i,
               {_r('i', seed, 1)} AS r_unit, {_r('i', seed, 2)} AS r_day, {_r('i', seed, 3)} AS r_proc,
               {_r('i', seed, 4)} AS r_time, {_r('i', seed, 5)} AS r_late, {_r('i', seed, 6)} AS r_dur,
               {_r('i', seed, 7)} AS r_chan, {_r('i', seed, 8)} AS r_pay, {_r('i', seed, 9)} AS r_dig,
               {_r('i', seed, 10)} AS r_eres, {_r('i', seed, 11)} AS r_stat, {_r('i', seed, 12)} AS r_supp,
               {_r('i', seed, 13)} AS r_sync, {_r('i', seed, 14)} AS r_rate, {_r('i', seed, 15)} AS r_reuse
        FROM range({int(start)}, {int(start) + int(n)}) t(i)
    ), picked AS (
        SELECT d.*, u.code AS unit, u.level, u.idx AS uidx, dy.day,
               -- each unit's own propensities, improving with the month of the year
               {_r('u.idx', seed, 101)} AS p_online, {_r('u.idx', seed, 102)} AS p_late,
               {_r('u.idx', seed, 103)} AS p_pay, {_r('u.idx', seed, 104)} AS p_dig,
               month(dy.day) / 12.0 AS progress
        FROM draws d
        JOIN unit_slots us ON us.slot = CAST(floor(d.r_unit * 20000) AS INTEGER)
        JOIN units u ON u.idx = us.idx
        JOIN day_slots ds ON ds.slot = CAST(floor(d.r_day * 20000) AS INTEGER)
        JOIN days dy ON dy.idx = ds.idx
    ), levels AS (
        -- The procedures of a level are numbered one after the other: where they start, how many.
        SELECT level, min(idx) AS first, count(*) AS n FROM procs GROUP BY level
    ), shaped AS (
        SELECT p.*, pr.code AS proc, pr.days AS stat_days, pr.fee, pr.paper, pr.online_level,
               CAST(p.day AS TIMESTAMP) + INTERVAL 7 HOUR + INTERVAL 30 MINUTE
                 + to_seconds(CAST(floor(p.r_time * 9 * 3600) AS BIGINT)) AS received
        -- An equi-join on the drawn procedure's number: a correlated subquery here became a
        -- join of every dossier with every procedure of its level (11 rows a dossier,
        -- 44 GB spilled at 100 million).
        FROM (SELECT p.*, lv.first + CAST(floor(p.r_proc * lv.n) AS INTEGER) AS proc_idx
              FROM picked p JOIN levels lv ON lv.level = p.level) p
        JOIN procs pr ON pr.idx = p.proc_idx
    ), timed AS (
        SELECT s.*,
               CAST(dues.due AS TIMESTAMP) + INTERVAL 17 HOUR AS due,
               s.r_late < (0.03 + 0.25 * s.p_late) * (1.2 - 0.6 * s.progress) AS late,
               CASE WHEN s.r_supp < 0.08 THEN round(s.r_supp * 60, 1) ELSE 0 END AS supp
        FROM shaped s JOIN dues ON dues.day = s.day AND dues.days = s.stat_days
    ), ended AS (
        SELECT t.*,
               t.received + to_seconds(CAST(
                   86400 * greatest(0.05, t.stat_days * 1.4 * CASE WHEN t.late THEN 1.05 + t.r_dur * 0.8
                                                                      ELSE 0.1 + t.r_dur * 0.85 END + t.supp)
               AS BIGINT)) AS would_end
        FROM timed t
    )
    SELECT
        i, format('{province}-{year % 100:02d}-{{:08d}}', i) AS dossier_id,
        proc AS procedure_code,
        CASE WHEN i % 997 = 13 THEN 'XX' || (i % 1000) ELSE unit END AS unit_code,
        CASE WHEN i % 2999 = 7 THEN '31/02/{year}' ELSE strftime(received, '%Y-%m-%dT%H:%M:%S') END AS received_at,
        strftime(due, '%Y-%m-%dT%H:%M:%S') AS due_at,
        CASE WHEN i % 1999 = 5 THEN strftime(received - INTERVAL 2 DAY, '%Y-%m-%dT%H:%M:%S')
             WHEN would_end > TIMESTAMP '{until.isoformat()} 23:59:59' THEN NULL
             ELSE strftime(would_end, '%Y-%m-%dT%H:%M:%S') END AS finished_at,
        CASE WHEN would_end > TIMESTAMP '{until.isoformat()} 23:59:59' AND i % 1999 <> 5
                  THEN CASE WHEN supp > 0 THEN 'supplement_requested' ELSE 'processing' END
             WHEN r_stat < 0.02 THEN 'rejected'
             WHEN r_stat < 0.035 THEN 'withdrawn'
             WHEN r_stat < 0.04 THEN 'stopped'
             WHEN r_stat < 0.55 THEN 'returned'
             ELSE 'settled' END AS status,
        CASE WHEN online_level <> 'none' AND r_chan < least(0.97, 0.15 + 0.55 * p_online + 0.25 * progress) THEN 'online'
             WHEN r_chan > 0.97 THEN 'postal' ELSE 'direct' END AS channel,
        fee AS has_fee,
        fee AND r_pay < least(0.95, 0.1 + 0.6 * p_pay + 0.25 * progress) AS paid_online,
        r_dig < least(0.99, 0.3 + 0.5 * p_dig + 0.2 * progress) AS digitized,
        paper AND r_eres < least(0.99, 0.4 + 0.4 * p_dig + 0.2 * progress) AS e_result,
        paper AS requires_paper_result,
        r_sync < 0.985 AS synced,
        supp AS supplement_days,
        r_reuse < 0.2 + 0.5 * progress AS reused,
        r_reuse < 0.6 AS population_db,
        CASE WHEN r_rate < 0.86 THEN 'satisfied' WHEN r_rate < 0.97 THEN 'neutral' ELSE 'dislike' END AS rating
    FROM ended
    """


def _r(expr: str, seed: int, purpose: int) -> str:
    """SQL for a uniform draw in [0, 1) determined by (seed, expr, purpose)."""
    return f"(hash({expr}, {int(seed)}, {int(purpose)}) % 1000003) / 1000003.0"


def _slots_sql(name: str, table: str, weight: str, slots: int) -> str:
    """A table of ``slots`` rows, each pointing to a row of ``table`` in proportion to its weight."""
    return f"""
    CREATE TABLE {name} AS
    WITH c AS (
        SELECT idx, sum({weight}) OVER (ORDER BY idx) / sum({weight}) OVER () AS hi,
               coalesce(sum({weight}) OVER (ORDER BY idx ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                 / sum({weight}) OVER () AS lo
        FROM {table}
    )
    SELECT s.slot, c.idx FROM range({slots}) s(slot)
    JOIN c ON (s.slot + 0.5) / {slots} >= c.lo AND (s.slot + 0.5) / {slots} < c.hi
    """


def _feedback(units: list[DemoUnit], rng: random.Random, n: int, year: int, until: date) -> list[dict[str, Any]]:
    """Feedback items (phản ánh, kiến nghị): on-time handling and satisfaction vary by unit."""
    span = (until - date(year, 1, 1)).days + 1
    cal = default_calendar()
    rows = []
    for i in range(n):
        unit = rng.choice(units)
        received = date(year, 1, 1) + timedelta(days=rng.randrange(span))
        due = cal.add_working_days(received, 15)
        handled = received + timedelta(days=int(rng.expovariate(1 / 12)))
        rows.append({
            "feedback_id": f"PAKN-{year}-{i:06d}",
            "unit_code": unit.code,
            "received_at": received.isoformat() + "T09:00:00",
            "due_at": due.isoformat() + "T17:00:00",
            "handled_at": handled.isoformat() + "T16:00:00" if handled <= until else "",
            "outcome": "handled" if handled <= until else "pending",
            "satisfied": rng.random() < 0.85,
        })
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
