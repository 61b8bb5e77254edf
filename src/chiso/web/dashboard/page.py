"""Rendering a dashboard page: the shared template helpers, installed once per app."""

from __future__ import annotations

from fastapi import Request

from chiso.http.render import render
from chiso.subscriptions.service import frequency_name
from chiso.web.dashboard import charts, common
from chiso.web.dashboard.subscribe import subscription_for


def _helpers() -> dict:
    return {"fmt_date": common.fmt_date, "pct": common.pct, "band_class": common.band_class,
            "arrow": common.arrow, "period_label": common.period_title, "chart_line": charts.line,
            "chart_spark": charts.spark, "chart_meter": charts.meter,
            "share_band": common.share_band, "subscription_for": subscription_for,
            "frequency_name": frequency_name}


def page(request: Request, template: str, status_code: int = 200, **context):
    env = request.app.state.templates
    if "fmt_date" not in env.globals:
        env.globals.update(_helpers())
    # The dashboard's templates format numbers with the fast equivalent of ``number``, and
    # colour shares with the method's bands looked up once per page.
    context.setdefault("share_band", common.share_bander())
    return render(request, "dashboard/" + template, status_code=status_code, number=common.fnum, **context)


def fragments(request: Request, session, name: str, parts: tuple, macro: str, items: list, key, *args,
              store: bool = True, stamp: tuple = ()) -> dict:
    """``{key(item): HTML}`` of ``macro`` (in ``dashboard/_rows.html``) for every item, rendered
    once per change of what they show (the store, the registry, ``stamp``) and language:
    the big tables then cost a dictionary lookup per row instead of a dozen macro calls.
    Callers pass every row and pick the ones the reader may see."""
    env = request.app.state.templates
    if "fmt_date" not in env.globals:
        env.globals.update(_helpers())

    def build():
        module = env.get_template("dashboard/_rows.html").make_module(
            {"number": common.fnum, "share_band": common.share_bander()})
        fn = getattr(module, macro)
        return {key(item): fn(item, *args) for item in items}

    return common.cached(request.app, session, "fragments:" + name, (parts, stamp), build, store=store, language=True)
