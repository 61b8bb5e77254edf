"""What a subscriber reads: the page or the unit they follow said in plain text, cut to what
they may read, in their language, with a link to the page when the setting ``public_url``
says where the dashboard is."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chiso import settings
from chiso.auth.permissions import Actor
from chiso.i18n import _
from chiso.periods import Period
from chiso.output import number
from chiso.subscriptions import service

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

#: Lines of a scorecard by e-mail: the weakest units first.
SCORECARD_LINES = 30


class Context:
    """What the messages of one pass are made from, computed once and only when needed."""

    def __init__(self, engine: Engine, store: DossierStore, period: Period):
        self.engine, self.store, self.period = engine, store, period
        self._states: dict[str, service.UnitState] | None = None
        self._rows: list[dict[str, Any]] | None = None

    def states(self) -> dict[str, service.UnitState]:
        if self._states is None:
            with Session(self.engine) as session:
                self._states = service.states(session, self.store, self.period)
        return self._states

    def rows(self) -> list[dict[str, Any]]:
        """Every unit's 766 row (the province's too), in English codes."""
        if self._rows is None:
            from chiso.index import service as index

            with Session(self.engine) as session:
                self._rows = index.index_766(session, self.store, self.period)
        return self._rows


def _num(value: float | None) -> str:
    return "–" if value is None else number(value, 2)


def _names(ctx: Context) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Names of the method's groups and bands, and of the ranking groups, in the reader's language."""
    from chiso.i18n import current_language
    from chiso.index import service as index
    from chiso.methods.bands import band_name
    from chiso.units import service as units
    from sqlalchemy.orm import Session

    m = index.method_for(None)
    en = current_language() == "en"
    groups = {g.id: (g.name_en if en else g.name) for g in m.groups}
    bands = {b.id: band_name(m.bands, b.id) or b.id for b in m.bands}
    with Session(ctx.engine) as session:
        cohorts = {g["code"]: ((g["name_en"] or g["name"]) if en else g["name"]) for g in units.list_groups(session)}
    return groups, bands, cohorts


def _ids(ctx: Context) -> dict[str, int]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from chiso.units.models import Unit

    with Session(ctx.engine) as session:
        return dict(session.execute(select(Unit.code, Unit.id)).all())


def _period(ctx: Context) -> str:
    from chiso.http.periods import period_label
    from chiso.index.service import until_label

    until = until_label(ctx.period)
    return f"{period_label(ctx.period)}, {until}" if until else period_label(ctx.period)


def _link(path: str) -> str | None:
    base = settings.get("public_url").strip().rstrip("/")
    return f"{base}{path}" if base else None


def _unit_line(st: service.UnitState, groups: dict[str, str], bands: dict[str, str], cohorts: dict[str, str]) -> str:
    line = _("{name}: {total} points ({band}), rank {rank}/{of} in the group {group}").format(
        name=st.name, total=_num(st.total), band=bands.get(st.band or "", st.band or "–"), rank=st.rank, of=st.of,
        group=cohorts.get(st.group, st.group).lower())
    if st.weakest:
        line += "; " + _("weakest group: {group}").format(group=groups.get(st.weakest, st.weakest))
    return line


def digest(ctx: Context, *, actor: Actor, kind: str, target: str, user: dict[str, Any], frequency: str,
           due: datetime) -> tuple[str, str, dict[str, Any]]:
    """Subject, body and data of a scheduled message about a page or a unit."""
    groups, bands, cohorts = _names(ctx)
    ids = _ids(ctx)
    seen = {c: st for c, st in ctx.states().items() if actor.sees(ids.get(c))}
    title = service.page_name(target) if kind == "page" else next(
        (r["name"] for r in ctx.rows() if r["unit"] == target), target)
    subject = _("chiso: {title}, {period}").format(title=title, period=_period(ctx))
    lines = [_("Dear {name},").format(name=user["full_name"]), "",
             _("{title} for {period}:").format(title=title, period=_period(ctx)), ""]
    items: list[dict[str, Any]] = []
    weak = sorted(seen.values(), key=lambda s: (s.total or 0, s.code))
    if kind == "unit":
        row = next((r for r in ctx.rows() if r["unit"] == target), None)
        st = seen.get(target)
        if row is None or not actor.sees(ids.get(target)):
            lines.append(_("No figures for this unit in this period."))
        else:
            lines.append(_("Total: {total} of {max} points ({band}).").format(
                total=_num(row["total"]), max=_num(row["max_total"]), band=bands.get(row["band"] or "", "–")))
            if row.get("total_change") is not None:
                lines.append(_("Change since the previous period: {change} points.").format(
                    change=_num(row["total_change"])))
            if st is not None:
                lines.append(_("Rank {rank}/{of} in the group {group}.").format(
                    rank=st.rank, of=st.of, group=cohorts.get(st.group, st.group).lower()))
            for gid, g in row["groups"].items():
                lines.append(f"- {groups.get(gid, gid)}: {_num(g['points'])}/{_num(g['max'])}")
            items.append({k: row[k] for k in ("unit", "name", "total", "max_total", "band", "rank")})
        path = f"/766/{target}"
    elif target == "overview":
        province = next((r for r in ctx.rows() if r["level"] == "province"), None)
        if province is not None and actor.province_wide:
            lines.append(_("Province: {total} of {max} points ({band}).").format(
                total=_num(province["total"]), max=_num(province["max_total"]),
                band=bands.get(province["band"] or "", "–")))
            lines.append("")
        lines.append(_("The last five units by total:"))
        lines += ["- " + _unit_line(s, groups, bands, cohorts) for s in weak[:5]]
        red = [s for s in weak if s.red]
        lines += ["", _("Units in the weak band: {n}").format(n=len(red))]
        lines += ["- " + _unit_line(s, groups, bands, cohorts) for s in red[:10]]
        items = [s.detail() | {"unit": s.code} for s in weak[:5]]
        path = "/"
    elif target == "scorecard":
        lines.append(_("Units from the weakest, with the group that pulled each down:"))
        lines += ["- " + _unit_line(s, groups, bands, cohorts) for s in weak[:SCORECARD_LINES]]
        if len(weak) > SCORECARD_LINES:
            lines.append(_("… and {n} more on the page.").format(n=len(weak) - SCORECARD_LINES))
        items = [s.detail() | {"unit": s.code} for s in weak[:SCORECARD_LINES]]
        path = "/scorecard"
    else:  # the map: how many units are in each band, and which are weak
        counts: dict[str, int] = {}
        for s in seen.values():
            counts[s.band or ""] = counts.get(s.band or "", 0) + 1
        for bid, name in bands.items():
            lines.append(f"- {name}: {counts.get(bid, 0)}")
        red = [s for s in weak if s.red]
        if red:
            lines += ["", _("Units in the weak band:")] + ["- " + _unit_line(s, groups, bands, cohorts) for s in red]
        items = [{"band": b, "units": n} for b, n in sorted(counts.items())]
        path = "/map"
    link = _link(path)
    if link:
        lines += ["", _("Open the page: {url}").format(url=link)]
    lines += ["", _("You get this message because you subscribed to it in chiso ({frequency}); "
                    "unsubscribe on the page or with chiso subscriptions remove.").format(
        frequency=service.frequency_name(frequency))]
    return subject, "\n".join(lines) + "\n", {"subscription": {"kind": kind, "target": target},
                                              "period": ctx.period.code, "items": items}


def alert(ctx: Context, *, events: list[dict[str, Any]], user: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """One message listing the units that turned red or fell into the last three."""
    from chiso.http.periods import period_label
    from chiso.periods import parse_period

    groups, bands, cohorts = _names(ctx)
    if len(events) == 1:
        e = events[0]
        subject = _("chiso alert: {name} {what}").format(name=e.get("name") or e["unit"],
                                                         what=service.condition_name(e["condition"]))
    else:
        subject = _("chiso alert: {n} units need attention").format(n=len(events))
    lines = [_("Dear {name},").format(name=user["full_name"]), ""]
    for e in events:
        when = e["at"].astimezone(_zone()).strftime("%H:%M %d/%m/%Y")
        if e["condition"] == service.TARGET_RED:
            lines.append(_("- {name} {what}: {target}, value {value} ({before} → red); seen at {when}.").format(
                name=e.get("name") or e["unit"], what=service.condition_name(e["condition"]),
                target=e.get("target_name") or e.get("target"), value=_num(e.get("value")),
                before=_colour(e.get("from")), when=when))
            continue
        lines.append(_("- {name} {what} ({period}): {total} points ({band}), rank {rank}/{of} in the group {group}; "
                       "seen at {when}.").format(
            name=e.get("name") or e["unit"], what=service.condition_name(e["condition"]),
            period=period_label(parse_period(e["period"])), total=_num(e.get("total")),
            band=bands.get(e.get("band") or "", "–"), rank=e.get("rank") or "–", of=e.get("of") or "–",
            group=cohorts.get(e.get("group") or "", e.get("group") or "–").lower(), when=when))
        link = _link(f"/766/{e['unit']}")
        if link:
            lines.append("  " + link)
    lines += ["", _("You get this alert because you subscribed to it in chiso; each change is sent once.")]
    data = {"alerts": [{k: e.get(k) for k in ("unit", "name", "condition", "period", "total", "band", "rank", "of",
                                              "group", "target", "value") if k in e or k in ("unit", "condition")}
                       | {"at": e["at"].isoformat()} for e in events]}
    return subject, "\n".join(lines) + "\n", data


def _colour(colour: str | None) -> str:
    return {"green": _("green"), "amber": _("amber"), "red": _("red"), "no_data": _("no data")}.get(
        colour or "", "–")


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.get("timezone"))
