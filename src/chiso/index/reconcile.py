"""Reconciliation (đối chiếu): chiso's 766 figures beside those the national portal published.

For every unit of the registry and every figure the portal published for it and a period
(``chiso published import``: the total, group points, indicator points), chiso's own figure,
the difference, and the likely causes found in the records that chiso counted for it:

- ``not_synced``: dossiers not synchronised to the national portal (``synced`` false): the
  portal does not see them;
- ``outside_national_scope``: dossiers of a procedure the procedure catalogue does not hold
  (not in the national procedure database): the portal does not count them;
- ``merger_lineage``: dossiers of a former unit that chiso counts for its successor
  through the lineage of the 2025 mergers; the portal may still hold them under the old
  unit or not at all;
- ``late_supplement``: dossiers finished (or still open) after their appointment, on time
  in chiso only because of the days spent waiting for the applicant's supplement; the
  portal may count them late.

Each cause gives the dossier ids. A difference above the setting ``reconcile_tolerance``
(points) is flagged.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy.orm import Session

from chiso import settings
from chiso.clock import local_now
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.index import compute, service
from chiso.periods import Period
from chiso.scoring.model import Method
from chiso.standing import service as standing

if TYPE_CHECKING:
    import duckdb

    from chiso.dossiers.store import DossierStore

#: The causes, in the order they are listed.
CAUSES = ("not_synced", "outside_national_scope", "merger_lineage", "late_supplement")

TOTAL = "total"


def cause_label(cause: str) -> str:
    """The words for a cause, in the language in force."""
    return {
        "not_synced": _("dossiers not synchronised to the national portal"),
        "outside_national_scope": _("dossiers of procedures outside the national catalogue"),
        "merger_lineage": _("dossiers of former units counted through the merger lineage"),
        "late_supplement": _("dossiers on time only thanks to the supplement waiting time"),
    }[cause]


def tolerance() -> float:
    raw = settings.get("reconcile_tolerance")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ChisoError(_("The setting reconcile_tolerance must be a number of points, not {value!r}.").format(
            value=raw)) from None
    if value < 0:
        raise ChisoError(_("The setting reconcile_tolerance must not be negative."))
    return value


def _has_catalogue(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a procedure catalogue is held (without one, no procedure is known to be
    outside it)."""
    try:
        return bool(compute.one_row(con.execute("SELECT count(*) > 0 FROM procedures"))[0])
    except Exception:  # no catalogue table at all
        return False


def _causes(con: duckdb.DuckDBPyConnection, ids: Sequence[str], *, current: Sequence[str], members: Sequence[str],
            cut: date, catalogue: bool) -> list[dict[str, Any]]:
    """The causes found among the dossiers ``ids`` counted for a unit (``members``: the
    units whose dossiers count for it; ``current``: the units scored in the period, so that
    a dossier of any other unit came through the lineage of a merger)."""
    if not ids:
        return []
    outside = ("procedure_code NOT IN (SELECT procedure_code FROM procedures)" if catalogue else "FALSE")
    rows = con.execute(f"""
        SELECT dossier_id,
               NOT coalesce(synced, TRUE) AS not_synced,
               {outside} AS outside_national_scope,
               unit_code NOT IN (SELECT unnest($current)) AS merger_lineage,
               coalesce(supplement_days, 0) > 0 AND due_at IS NOT NULL
                 AND coalesce(finished_at, CAST($cut AS TIMESTAMP)) > due_at AS late_supplement
        FROM records
        WHERE unit_code IN (SELECT unnest($members)) AND dossier_id IN (SELECT unnest($ids))
        ORDER BY dossier_id
    """, {"current": list(current), "members": list(members), "ids": list(ids), "cut": cut}).fetchall()
    out = []
    for i, cause in enumerate(CAUSES, start=1):
        found = sorted({r[0] for r in rows if r[i]})
        if found:
            out.append({"cause": cause, "label": cause_label(cause), "count": len(found), "dossier_ids": found})
    return out


def reconcile(session: Session, store: DossierStore, period: Period, *, method_id: str | None = None,
              now: datetime | None = None, limit: float | None = None) -> list[dict[str, Any]]:
    """One entry per published figure of a scored unit: {unit, name, indicator ("total", a
    group id or an indicator id), ours, published, difference (ours − published, None
    without our figure), flagged, causes: [{cause, label, count, dossier_ids}]}; causes are
    looked for where the figures differ. ``limit``: the tolerance (default: the setting)."""
    now = local_now(now)
    limit = tolerance() if limit is None else limit
    method = service.method_for(method_id)
    published = standing.published(session, index="766", period=period.code)
    if not published:
        return []
    rows = {r["unit"]: r for r in service.index_766(session, store, period, method_id=method_id, now=now)}
    tgts = service.targets(session, period)
    members = {t.code: t.members for t in tgts}
    current = sorted(t.code for t in tgts if t.level != "province")
    out: list[dict[str, Any]] = []
    wanted = [(code, pub) for code, pub in sorted(published.items()) if code in rows]
    con = None
    try:
        for code, pub in wanted:
            ours_row = rows[code]
            figures: list[tuple[str, float | None, float]] = []
            if pub["total"] is not None:
                figures.append((TOTAL, ours_row["total"], pub["total"]))
            for gid, value in sorted(pub["groups"].items()):
                g = ours_row["groups"].get(gid)
                figures.append((gid, g["points"] if g else None, value))
            for iid, value in sorted(pub["indicators"].items()):
                i = ours_row["indicators"].get(iid)
                figures.append((iid, i["points"] if i else None, value))
            for figure, ours, theirs in figures:
                diff = None if ours is None else ours - theirs
                entry: dict[str, Any] = {
                    "unit": code, "name": ours_row["name"], "level": ours_row["level"], "period": period.code,
                    "indicator": figure, "ours": ours, "published": theirs, "difference": diff,
                    "flagged": diff is None or abs(diff) > limit + 1e-9, "causes": [],
                }
                if diff is None or abs(diff) > 1e-9:
                    if con is None:
                        con = store.connect()
                        compute.prepare(con)
                    entry["causes"] = _figure_causes(con, method, period, figure, current,
                                                     members.get(code, (code,)), now.date())
                out.append(entry)
    finally:
        if con is not None:
            con.close()
    return out


def _figure_causes(con: duckdb.DuckDBPyConnection, method: Method, period: Period, figure: str,
                   current: Sequence[str], members: Sequence[str], today: date) -> list[dict[str, Any]]:
    """Causes among the dossiers behind one figure: an indicator's numerator and
    denominator, a group's indicators', or for the total every indicator's."""
    if figure == TOTAL:
        indicators = list(method.indicators)
    else:
        indicators = [i for i in method.indicators if i.id == figure or i.group == figure]
    ids: set[str] = set()
    for ind in indicators:
        for side in (ind.numerator, ind.denominator):
            m = method.measures[side]
            if not compute.listable(method, side) or m.basis == "feedback":
                continue
            sql, params = compute.explain_sql(method, side, period, today=today)
            ids.update(r[0] for r in con.execute(sql, {**params, "units": list(members)}).fetchall())
    cut = compute.judged_until(period, today)
    return _causes(con, sorted(ids), current=current, members=members, cut=min(cut, period.end + timedelta(days=1)),
                   catalogue=_has_catalogue(con))
