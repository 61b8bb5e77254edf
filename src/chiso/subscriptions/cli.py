"""``chiso subscriptions``: follow a page or a unit for an account, stop, list, and the
history of the watch (units that turned red or fell into the last three)."""

from __future__ import annotations

import click

from chiso import db
from chiso.auth import service as auth
from chiso.auth.permissions import command_line
from chiso.clitools import FORMATS, engine_ready
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.output import emit_json, emit_table
from chiso.subscriptions import service


def columns() -> list[tuple[str, str]]:
    return [("user", _("Account")), ("kind", _("Kind")), ("target", _("Page or unit")),
            ("frequency", _("Frequency")), ("alerts", _("Alerts")), ("active", _("Active"))]


def _what(page: str | None, unit: str | None) -> tuple[str, str]:
    if bool(page) == bool(unit):
        raise ChisoError(_("Name either --page or --unit."))
    return ("page", page) if page else ("unit", unit or "")


@click.group()
def subscriptions() -> None:
    """Subscriptions: pages and units sent by e-mail on a schedule, and alerts."""


@subscriptions.command("add")
@click.option("--user", "user_name", required=True, help="The account that subscribes.")
@click.option("--page", type=click.Choice(service.PAGES), default=None, help="A page to follow.")
@click.option("--unit", default=None, help="A unit to follow (registry code), within the account's scope.")
@click.option("--frequency", type=click.Choice(service.FREQUENCIES), default="daily", show_default=True,
              help="daily, weekly (Mondays) or off (alerts only).")
@click.option("--alerts/--no-alerts", default=True, show_default=True,
              help="Also an alert when a unit turns red or falls into the last three of its group.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def add_cmd(user_name: str, page: str | None, unit: str | None, frequency: str, alerts: bool, fmt: str) -> None:
    """Subscribe an account to a page or a unit."""
    kind, target = _what(page, unit)
    with db.transaction(engine_ready()) as session:
        actor = auth.actor_for_user(session, auth.get_user(session, user_name), via="cli")
        out = service.subscribe(session, actor=actor, kind=kind, target=target, frequency=frequency, alerts=alerts)
    if fmt == "json":
        emit_json(out)
    else:
        click.echo(_("{user} follows {kind} {target}: {frequency}, alerts {alerts}.").format(
            user=user_name, kind=kind, target=out["target"], frequency=service.frequency_name(frequency),
            alerts=_("on") if alerts else _("off")))


@subscriptions.command("remove")
@click.option("--user", "user_name", required=True, help="The account that unsubscribes.")
@click.option("--page", type=click.Choice(service.PAGES), default=None)
@click.option("--unit", default=None)
@click.option("--format", "fmt", type=FORMATS, default="table")
def remove_cmd(user_name: str, page: str | None, unit: str | None, fmt: str) -> None:
    """Stop a subscription (what was sent stays in the history)."""
    kind, target = _what(page, unit)
    with db.transaction(engine_ready()) as session:
        actor = auth.actor_for_user(session, auth.get_user(session, user_name), via="cli")
        out = service.unsubscribe(session, actor=actor, kind=kind, target=target)
    if fmt == "json":
        emit_json(out)
    else:
        click.echo(_("{user} no longer follows {kind} {target}.").format(user=user_name, kind=kind, target=target))


@subscriptions.command("list")
@click.option("--user", "user_name", default=None, help="One account's (default: everyone's).")
@click.option("--inactive", is_flag=True, help="Include stopped subscriptions.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(user_name: str | None, inactive: bool, fmt: str) -> None:
    """List subscriptions."""
    with db.transaction(engine_ready()) as session:
        if user_name:
            actor = auth.actor_for_user(session, auth.get_user(session, user_name), via="cli")
            rows = service.list_subscriptions(session, actor=actor, include_inactive=inactive)
            rows = [dict(r, user=user_name) for r in rows]
        else:
            rows = service.list_subscriptions(session, actor=command_line(), everyone=True, include_inactive=inactive)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, columns())


@subscriptions.command("alerts")
@click.option("--unit", default=None, help="One unit's history.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table")
def alerts_cmd(unit: str | None, limit: int, fmt: str) -> None:
    """The watch's history: units that turned red or fell into the last three, and left."""
    with db.transaction(engine_ready()) as session:
        rows = service.alert_history(session, actor=command_line(), unit=unit, limit=limit)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("at", _("When")), ("unit", _("Unit")), ("name", _("Name")), ("condition", _("Condition")),
                          ("holds", _("Entered")), ("period", _("Period")), ("total", _("Total")),
                          ("rank", _("Rank")), ("of", _("Of"))])
