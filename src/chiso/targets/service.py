"""Indicators, targets and traffic lights: what the CLI (and later the API and pages) call.

Indicator values come from one resolver, :func:`resolve_value`:

* ``766.total``, ``766.rank``, ``766.<indicator id>`` (its rate, 0–1) and ``766.<group id>``
  (its points) are read from the 766 index of the unit (:func:`chiso.index.service.index_766`
  over a :class:`~chiso.dossiers.store.DossierStore`), for the target's period or, without
  one, the month that contains the date;
* ``766.national_rank`` and ``766.national_total`` are the unit's standing as the national
  portal published it (:mod:`chiso.standing`), for the target's period or, without one,
  the latest published period that has started by the date;
* any other reference is a manual indicator: the value entered for the unit and the target's
  period or, without one, for the latest period that has started by the date.

Colours follow :mod:`chiso.targets.lights`; :func:`evaluate` stores each change as a
:class:`~chiso.targets.models.Flip`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso import sheets
from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.imports import ImportSummary, Reject, write_rejects
from chiso.periods import PeriodError, parse_period, period_for
from chiso.targets import lights
from chiso.targets.models import Flip, ManualValue, Target
from chiso.units import service as units
from chiso.units.models import Unit
from chiso.audit import service as audit
from chiso.auth.permissions import Actor

if TYPE_CHECKING:
    from chiso.auth.permissions import Actor
    from chiso.dossiers.store import DossierStore

COMPUTED_PREFIX = "766."
#: Metrics computed from the procedure catalogue (:mod:`chiso.dossiers.catalogue`).
CATALOGUE_METRICS = ("catalogue.full_online_rate",)
#: Computed references read from the published national standing, not from the records.
NATIONAL = {"national_rank": "rank", "national_total": "total"}


# --------------------------------------------------------------------------- indicator values


def is_computed(indicator: str) -> bool:
    return indicator.startswith(COMPUTED_PREFIX) or indicator in CATALOGUE_METRICS


def _index_rows(session: Session, store: DossierStore, period_code: str, cache: dict) -> dict[str, dict]:
    key = ("766", period_code)
    if key not in cache:
        from chiso.index.service import index_766

        try:
            rows = index_766(session, store, parse_period(period_code)) if store is not None else []
        except NotFound:
            rows = []
        cache[key] = {r["unit"]: r for r in rows}
    return cache[key]


def is_rate(indicator: str) -> bool:
    """Whether ``indicator``'s values are rates in [0, 1] (a 766 indicator such as
    ``766.2.1``, not its total, rank or a group's points): pages and documents print them and
    their goals as percentages (80 %, not 0,80), as the portal does."""
    if not is_computed(indicator):
        return False
    part = indicator[len(COMPUTED_PREFIX):]
    return bool(part) and part[0].isdigit()


def resolve_value(session: Session, indicator: str, unit: str, as_of: date, *, period: str | None = None,
                  store=None, cache: dict | None = None) -> float | None:
    """The value of ``indicator`` for ``unit`` as known on ``as_of`` (None: no data)."""
    cache = {} if cache is None else cache
    if indicator in CATALOGUE_METRICS:
        from chiso.dossiers import catalogue

        return catalogue.full_online_rate(session, store, unit, as_of=as_of,
                                          period=parse_period(period) if period else None, cache=cache)
    if is_computed(indicator) and indicator[len(COMPUTED_PREFIX):] in NATIONAL:
        return _national(session, NATIONAL[indicator[len(COMPUTED_PREFIX):]], unit, as_of, period)
    if is_computed(indicator):
        part = indicator[len(COMPUTED_PREFIX):]
        code = period or period_for("month", as_of).code
        row = _index_rows(session, store, code, cache).get(unit)
        if row is None:
            return None
        if part == "rank" and row["rank"] is None and row.get("national_rank") is not None:
            return row["national_rank"]  # the province has no rank among peers here: its national one
        if part in ("total", "rank"):
            return row[part]
        if part in row["indicators"]:
            return row["indicators"][part]["rate"]
        if part in row["groups"]:
            return row["groups"][part]["points"]
        raise NotFound(_("Unknown 766 reference {ref}: use 766.total, 766.rank, 766.national_rank, "
                         "766.national_total, 766.<indicator> or 766.<group>.")
                       .format(ref=indicator))
    unit_id = units.get(session, unit).id
    query = select(ManualValue).where(ManualValue.indicator == indicator, ManualValue.unit_id == unit_id)
    if period:
        row = session.scalar(query.where(ManualValue.period == parse_period(period).code))
        return row.value if row else None
    started = [(parse_period(v.period), v) for v in session.scalars(query)]
    started = [(p, v) for p, v in started if p.start <= as_of]
    if not started:
        return None
    return max(started, key=lambda pv: (pv[0].end, pv[0].start, pv[1].entered_at))[1].value


def _national(session: Session, field: str, unit: str, as_of: date, period: str | None) -> float | None:
    """The unit's published national standing (``rank`` or ``total``) for ``period`` or,
    without one, for the latest published period that has started by ``as_of``."""
    from chiso.standing import service as standing

    rows = standing.history(session, index="766", unit=unit)
    if period:
        code = parse_period(period).code
        rows = [r for r in rows if r["period"] == code]
    else:
        rows = [r for r in rows if parse_period(r["period"]).start <= as_of]
        rows.sort(key=lambda r: (parse_period(r["period"]).end, parse_period(r["period"]).start))
    value = rows[-1][field] if rows else None
    return None if value is None else float(value)


def set_value(session: Session, *, actor: Actor, indicator: str, unit: str, period: str, value: float,
              at: datetime | None = None, source: str | None = None) -> dict[str, Any]:
    """Enter (or replace) a manual value of ``indicator`` for ``unit`` and ``period``; the
    value keeps the name of the ``actor`` who entered it and the ``source`` it comes from
    (another system: document management, digital signatures...; None: typed in)."""
    if is_computed(indicator):
        raise ChisoError(_("{indicator} is computed; only manual indicators take entered values.")
                         .format(indicator=indicator))
    if not indicator.strip():
        raise ChisoError(_("An indicator code is needed."))
    entered_by = actor.name
    if not entered_by.strip():
        raise ChisoError(_("Say who enters the value."))
    u = units.get(session, unit)
    code = parse_period(period).code
    at = at or datetime.now(timezone.utc)
    row = session.scalar(select(ManualValue).where(
        ManualValue.indicator == indicator, ManualValue.unit_id == u.id, ManualValue.period == code))
    before = _value_json(row, u.code) if row is not None else None
    source = (source or "").strip() or None
    if row is None:
        row = ManualValue(indicator=indicator, unit_id=u.id, period=code, value=float(value),
                          entered_by=entered_by, entered_at=at, source=source)
        session.add(row)
    else:
        row.value, row.entered_by, row.entered_at, row.source = float(value), entered_by, at, source
    session.flush()
    after = _value_json(row, u.code)
    audit.record(session, actor=actor, action="indicator.set", object_type="indicator",
                 object_key=f"{indicator}/{u.code}/{code}", unit_id=u.id, before=before, after=after)
    return after


def _value_json(row: ManualValue, unit_code: str) -> dict[str, Any]:
    return {"indicator": row.indicator, "unit": unit_code, "period": row.period, "value": row.value,
            "entered_by": row.entered_by, "entered_at": row.entered_at.isoformat(), "source": row.source}


def list_values(session: Session, *, indicator: str | None = None, unit: str | None = None) -> list[dict]:
    query = select(ManualValue, Unit.code).join(Unit, ManualValue.unit_id == Unit.id)
    if indicator:
        query = query.where(ManualValue.indicator == indicator)
    if unit:
        query = query.where(ManualValue.unit_id == units.get(session, unit).id)
    rows = [_value_json(v, code) for v, code in session.execute(query)]
    return sorted(rows, key=lambda r: (r["indicator"], r["unit"], parse_period(r["period"]).start, r["period"]))


# --------------------------------------------------------------------------- targets


def target_json(t: Target) -> dict[str, Any]:
    return {"code": t.code, "name": t.name, "indicator": t.indicator, "unit": t.unit.code if t.unit else None,
            "include_subunits": bool(t.include_subunits), "level": t.level, "direction": t.direction,
            "goal": t.goal, "deadline": t.deadline.isoformat(), "period": t.period, "amber": dict(t.amber or {}),
            "source": t.source}


def list_targets(session: Session) -> list[dict]:
    return [target_json(t) for t in session.scalars(select(Target).order_by(Target.code))]


def get_target(session: Session, code: str) -> Target:
    t = session.scalar(select(Target).where(Target.code == code))
    if t is None:
        raise NotFound(_("Unknown target: {code}").format(code=code))
    return t


def _check(session: Session, fields: dict) -> dict:
    """Validated, normalised target fields; raises ValueError with the reason."""
    out = dict(fields)
    for name in ("code", "indicator"):
        if not str(out.get(name) or "").strip():
            raise ValueError(_("{column} is empty").format(column=name))
        out[name] = str(out[name]).strip()
    if out.get("direction") not in lights.DIRECTIONS:
        raise ValueError(_("direction must be higher or lower, not {value!r}").format(value=out.get("direction")))
    try:
        out["goal"] = float(str(out.get("goal")).replace(",", ".")) if not isinstance(out.get("goal"), (int, float)) \
            else float(out["goal"])
    except ValueError:
        raise ValueError(_("goal {value!r} is not a number").format(value=out.get("goal"))) from None
    if out["goal"] != out["goal"]:
        raise ValueError(_("goal {value!r} is not a number").format(value=out.get("goal")))
    deadline = out.get("deadline")
    if not isinstance(deadline, date):
        try:
            deadline = date.fromisoformat(str(deadline).strip()[:10])
        except ValueError:
            raise ValueError(_("deadline {value!r} is not a date YYYY-MM-DD").format(value=out.get("deadline"))) from None
    out["deadline"] = deadline
    if out.get("period"):
        try:
            out["period"] = parse_period(str(out["period"])).code
        except PeriodError as exc:
            raise ValueError(str(exc)) from None
    else:
        out["period"] = None
    level = out.get("level") or None
    if level is not None and level not in units.LEVELS:
        raise ValueError(_("level {value!r} is not one of {levels}").format(value=level, levels=", ".join(units.LEVELS)))
    out["level"] = level
    unit_code = out.pop("unit", None) or None
    if unit_code is None and level is None:
        raise ValueError(_("a target needs a unit or a level"))
    if unit_code is not None:
        try:
            out["unit_id"] = units.get(session, str(unit_code).strip()).id
        except NotFound:
            raise ValueError(_("unknown unit {unit}").format(unit=unit_code)) from None
    else:
        out["unit_id"] = None
    out["include_subunits"] = bool(out.get("include_subunits"))
    if out["include_subunits"] and unit_code is None:
        raise ValueError(_("include_subunits needs a unit"))
    out["amber"] = lights.check_rules(out.get("amber"))
    out["name"] = out.get("name") or None
    out["source"] = out.get("source") or None
    return out


FIELDS = ("name", "indicator", "unit_id", "include_subunits", "level", "direction", "goal", "deadline", "period",
          "amber", "source")


def save_target(session: Session, *, actor: Actor, **fields) -> tuple[Target, str]:
    """Create or update a target by code; returns it and ``inserted|updated|unchanged``."""
    try:
        clean = _check(session, fields)
    except ValueError as exc:
        raise ChisoError(str(exc)) from None
    return _upsert(session, clean, actor=actor)


def _upsert(session: Session, clean: dict, *, actor: Actor) -> tuple[Target, str]:
    t = session.scalar(select(Target).where(Target.code == clean["code"]))
    values = {k: clean[k] for k in FIELDS}
    if t is None:
        t = Target(code=clean["code"], **values)
        session.add(t)
        session.flush()
        session.refresh(t)
        audit.record(session, actor=actor, action="target.save", object_type="target", object_key=t.code,
                     unit_id=t.unit_id, after=target_json(t))
        return t, "inserted"
    if all(getattr(t, k) == v for k, v in values.items()):
        return t, "unchanged"
    before = target_json(t)
    for k, v in values.items():
        setattr(t, k, v)
    t.updated_at = datetime.now(timezone.utc)
    session.flush()
    session.refresh(t)
    audit.record(session, actor=actor, action="target.save", object_type="target", object_key=t.code,
                 unit_id=t.unit_id, before=before, after=target_json(t))
    return t, "updated"


# --------------------------------------------------------------------------- import

#: Columns of a target file (first row = header; Vietnamese-free canonical names).
COLUMNS = ("code", "name", "indicator", "unit", "include_subunits", "level", "direction", "goal", "deadline",
           "period", "amber_days_before_deadline", "amber_within", "source")
REQUIRED = ("code", "indicator", "direction", "goal", "deadline")
TRUE = ("1", "true", "yes", "y", "x", "có", "co")


def _cells(path: Path) -> Iterator[tuple[int, list[str]]]:
    return sheets.rows(path, unsupported=_("Cannot read {path}: a target file is CSV or XLSX.").format(path=path))


def import_targets(session: Session, *, actor: Actor, path: str | Path) -> ImportSummary:
    """Import targets from a CSV/XLSX file, all or nothing: a file with any bad row imports
    nothing and every bad row is reported with its line and reason, and written with its
    values to ``<file>.rejects.csv`` beside the input. Idempotent by code. The summary's
    ``imported`` is the name earlier versions gave the rows taken (inserted, updated or
    unchanged)."""
    path = Path(path)
    rows = _cells(path)
    try:
        _line, head = next(rows)
    except StopIteration:
        raise ChisoError(_("{path} is empty.").format(path=path)) from None
    cols = {name.strip().lower(): i for i, name in enumerate(head) if name.strip()}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise ChisoError(_("{path}: missing column(s): {columns}.").format(path=path, columns=", ".join(missing)))
    summary = ImportSummary(kind="targets", extra={"imported": 0})
    good: list[dict] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        summary.read += 1
        v = {c: (cells[cols[c]].strip() if c in cols and cols[c] < len(cells) else "") for c in COLUMNS}
        amber: dict[str, Any] = {}
        try:
            for name, kind in (("amber_days_before_deadline", int), ("amber_within", float)):
                if v[name]:
                    try:
                        number = float(v[name].replace(",", "."))
                    except ValueError:
                        raise ValueError(_("{column} {value!r} is not a number").format(column=name, value=v[name])) \
                            from None
                    amber[name] = int(number) if kind is int and number.is_integer() else number
            clean = _check(session, {**{k: v[k] for k in COLUMNS if not k.startswith("amber_")},
                                     "include_subunits": v["include_subunits"].lower() in TRUE, "amber": amber})
            if clean["code"] in seen:
                raise ValueError(_("code {code} is given twice (first at line {line})").format(
                    code=clean["code"], line=seen[clean["code"]]))
            seen[clean["code"]] = line
            good.append(clean)
        except ValueError as exc:
            summary.rejects.append(Reject(line=line, reason=str(exc), values=v))
    summary.rejected = len(summary.rejects)
    summary.rejects_path = write_rejects(path, summary.rejects, COLUMNS)
    if summary.rejects:
        summary.refused = True
        return summary  # all or nothing
    for clean in good:
        _t, what = _upsert(session, clean, actor=actor)
        setattr(summary, what, getattr(summary, what) + 1)
    summary.extra["imported"] = summary.inserted + summary.updated + summary.unchanged
    return summary


# --------------------------------------------------------------------------- lights


@dataclass
class Item:
    target: Target
    unit: Unit
    value: float | None
    light: lights.Light

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target.code, "unit": self.unit.code, "colour": self.light.colour,
                "value": self.value, "goal": self.target.goal, "deadline": self.target.deadline.isoformat(),
                "why": self.light.why}


def target_units(session: Session, t: Target, as_of: date) -> list[Unit]:
    """The units ``t`` applies to on ``as_of``: its unit (and with ``include_subunits`` every
    unit below it), or the units of its level below its unit (default: the home province)."""
    if t.level:
        root = t.unit.code if t.unit else units.home_province(session)
        if root is None:
            raise ChisoError(_("No province is loaded; run `chiso init --province CODE` first."))
        codes = [v.code for v in units.list_units(session, level=t.level, as_of=as_of, within=root)]
    else:
        codes = [t.unit.code]
        if t.include_subunits:
            codes += [v.code for v in units.list_units(session, as_of=as_of, within=t.unit.code)]
    out, seen = [], set()
    for code in codes:
        if code not in seen:
            seen.add(code)
            out.append(units.get(session, code))
    return out


def items(session: Session, *, as_of: date, store: DossierStore | None = None, target: str | None = None) -> list[Item]:
    """Every (target, unit) with its value and light on ``as_of``."""
    cache: dict = {}
    targets = [get_target(session, target)] if target else list(session.scalars(select(Target).order_by(Target.code)))
    out = []
    for t in targets:
        for u in target_units(session, t, as_of):
            value = resolve_value(session, t.indicator, u.code, as_of, period=t.period, store=store, cache=cache)
            light = lights.colour(value=value, goal=t.goal, direction=t.direction, deadline=t.deadline,
                                  as_of=as_of, rules=t.amber)
            out.append(Item(t, u, value, light))
    return out


STATUS_KEYS = ("target", "unit", "colour", "value", "goal", "deadline")


def status(session: Session, *, as_of: date, store: DossierStore | None = None, target: str | None = None) -> list[dict[str, Any]]:
    """The issue's ``targets status`` rows: {target, unit, colour, value, goal, deadline}."""
    return [{k: i.to_json()[k] for k in STATUS_KEYS} for i in items(session, as_of=as_of, store=store, target=target)]


def _latest_flips(session: Session, as_of: date) -> dict[tuple[int, int], Flip]:
    latest: dict[tuple[int, int], Flip] = {}
    for f in session.scalars(select(Flip).where(Flip.at <= as_of).order_by(Flip.at, Flip.id)):
        latest[(f.target_id, f.unit_id)] = f
    return latest


def evaluate(session: Session, *, as_of: date, store: DossierStore | None = None) -> dict[str, Any]:
    """Colour every (target, unit) on ``as_of`` and append a flip for each one whose colour
    differs from its last recorded colour on or before that date. Running it again for the
    same date records nothing."""
    latest = _latest_flips(session, as_of)
    found = items(session, as_of=as_of, store=store)
    recorded = []
    for i in found:
        before = latest.get((i.target.id, i.unit.id))
        if before is not None and before.to_colour == i.light.colour:
            continue
        flip = Flip(target_id=i.target.id, unit_id=i.unit.id, at=as_of,
                    from_colour=before.to_colour if before else None, to_colour=i.light.colour,
                    why=i.light.why, value=i.value)
        session.add(flip)
        recorded.append({"target": i.target.code, "unit": i.unit.code, "at": as_of.isoformat(),
                         "from": flip.from_colour, "to": flip.to_colour, "why": flip.why, "value": i.value})
    session.flush()
    return {"as_of": as_of.isoformat(), "evaluated": len(found), "flips": recorded}


def flips(session: Session, *, since: date | None = None, until: date | None = None, to: str | None = None,
          unit: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
    """Recorded changes of colour, oldest first, filtered by date range, new colour, unit, target."""
    query = (select(Flip, Target.code, Unit.code).join(Target, Flip.target_id == Target.id)
             .join(Unit, Flip.unit_id == Unit.id).order_by(Flip.at, Flip.id))
    if since:
        query = query.where(Flip.at >= since)
    if until:
        query = query.where(Flip.at <= until)
    if to:
        if to not in lights.COLOURS:
            raise ChisoError(_("Unknown colour {colour}: use one of {colours}.").format(
                colour=to, colours=", ".join(lights.COLOURS)))
        query = query.where(Flip.to_colour == to)
    if unit:
        query = query.where(Flip.unit_id == units.get(session, unit).id)
    if target:
        query = query.where(Flip.target_id == get_target(session, target).id)
    return [{"target": t, "unit": u, "at": f.at.isoformat(), "from": f.from_colour, "to": f.to_colour,
             "why": f.why, "value": f.value} for f, t, u in session.execute(query)]


def rollup(session: Session, *, as_of: date, store: DossierStore | None = None, rule: dict | None = None) -> dict[str, Any]:
    """Each unit's overall colour over its items, and the province's over every item, by
    :func:`chiso.targets.lights.roll_up` (green only when all are green; red if any is red)."""
    rule = {**lights.ROLLUP, **(rule or {})}
    found = items(session, as_of=as_of, store=store)
    by_unit: dict[str, list[str]] = {}
    for i in found:
        by_unit.setdefault(i.unit.code, []).append(i.light.colour)
    rows = [{"unit": code, "colour": lights.roll_up(cs, rule), "items": dict(Counter(cs))}
            for code, cs in sorted(by_unit.items())]
    everything = [i.light.colour for i in found]
    return {"as_of": as_of.isoformat(), "rule": rule, "units": rows,
            "province": {"unit": units.home_province(session), "colour": lights.roll_up(everything, rule),
                         "items": dict(Counter(everything))}}
