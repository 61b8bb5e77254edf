"""The Jinja2 environment of the pages: the templates folder, gettext, the number filter
and the main menu."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

from chiso import __version__
from chiso.auth.permissions import Actor
from chiso.i18n import _, current_language, ngettext
from chiso.output import number

HERE = Path(__file__).parent


def _fmt_number(value, digits: int = 2):
    if value is None:
        return "–"
    return number(value, digits)


def nav_items(request: Request, actor: Actor) -> list[tuple[str, str]]:
    """The main menu: the pages this server has (the app's own routes) that the actor may open."""
    items = [
        ("/", _("Overview")), ("/766", _("766 index")), ("/scorecard", _("Group scorecard")), ("/rankings", _("Rankings")),
        ("/due", _("Falling due")), ("/assessments", _("Assessments")), ("/targets", _("Targets")),
        ("/tasks", _("Tasks")), ("/meetings", _("Meetings")), ("/procedures", _("Procedures")),
        ("/map", _("Map")), ("/reports", _("Reports")), ("/audit", _("Audit trail")),
    ]
    if actor.province_wide:
        items.insert(4, ("/reconcile", _("Reconciliation")))
    if actor.may("admin") and actor.province_wide:
        items.append(("/admin/users", _("Accounts")))
    paths = {r.path for r in app_routes(request.app)}
    return [(href, label) for href, label in items if href in paths]


def app_routes(app: FastAPI) -> list:
    """Every route of ``app``, those of included routers too (recent FastAPI keeps an
    included router as one entry of ``app.routes``; each item here has ``path``,
    ``methods``, ``endpoint``)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def _words() -> dict:
    """Codes of the store said in words on every page: roles, the audit trail's actions,
    objects and before/after, and moments in the store's time zone."""
    from babel.dates import format_datetime

    from chiso.audit import words
    from chiso.auth.permissions import role_name

    def moment(at) -> str:
        return format_datetime(words.local_time(at), "dd/MM/yyyy HH:mm:ss", locale=current_language())

    return {"role_name": role_name, "action_name": words.action_name, "object_name": words.object_name,
            "audit_changes": words.changes, "moment": moment}


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True, lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext=lambda m: _(m), ngettext=ngettext, newstyle=True)
    env.globals.update(version=__version__, lang=current_language, number=_fmt_number, nav_items=nav_items)
    env.globals.update(_words())
    env.filters["number"] = _fmt_number
    return env
