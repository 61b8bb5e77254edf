"""The ASGI application: ``create_app()`` builds it on the configured stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chiso import __version__, db
from chiso.auth.permissions import Actor, can
from chiso.http.deps import check_csrf, get_actor
from chiso.http.schemas import EXACT, Health
from chiso.web import errors
from chiso.web.cache import ResultCache
from chiso.web.security import Guard
from chiso.web.templating import HERE, make_templates

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore


def create_app(*, engine: Engine | None = None, store: DossierStore | None = None, events_interval: float = 2.0) -> FastAPI:
    from chiso.store.service import open_records

    engine = engine or db.make_engine()
    db.require_schema(engine)
    store = store or open_records(engine)
    app = FastAPI(
        title="chiso", version=__version__,
        description="HTTP API of chiso: units, dossiers, the 766 index, assessments, tasks, targets, audit.",
        openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.engine = engine
    app.state.store = store
    app.state.templates = make_templates()
    app.state.events_interval = events_interval
    app.state.results = ResultCache()
    errors.install(app)

    @app.get("/healthz", tags=["health"], response_model=Health, **EXACT,
             summary="Liveness; for an administrator also the version and the storage in use")
    def healthz(request: Request, actor: Actor = Depends(get_actor)) -> dict:
        with engine.connect() as conn:  # the store answers, or this fails with 500
            conn.execute(text("select 1"))
        # A server that warms its pages (``chiso serve``) says whether it is at it: a load
        # balancer can hold new users back until the first warm-up is done.
        state = {"status": "ok"}
        if getattr(app.state, "warming", None) is not None:
            state["warming"] = app.state.warming
        if not can(actor, "admin"):
            # A monitor needs only the status; the database user, host and data path would
            # tell an outsider where to aim.
            return state
        return {
            **state,
            "version": __version__,
            "storage": {"database": engine.dialect.name, "url": db.describe(engine),
                        "dossiers": str(store.root)},
        }

    for router, options in routers():
        app.include_router(router, **options)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(Guard)
    return app


def routers() -> list[tuple[APIRouter, dict]]:
    """Every router of the server, in the order routes are matched, with how it is mounted:
    the one place that says what the server serves. The JSON API's routers (``/api/v1``)
    share its prefix, the CSRF check and the documented error answers; pages are left out
    of the OpenAPI document."""
    from chiso.adjustments import api as adjustments_api
    from chiso.assessments import api as assessments_api
    from chiso.reports import web as reports_web
    from chiso.targets import api as targets_api
    from chiso.tasks import api as tasks_api
    from chiso.web import api_v1, apidocs, events, pages
    from chiso.subscriptions import api as subscriptions_api
    from chiso.web.dashboard import (committee, geo, index766, overview, rankings, reconcile, rounds, scorecard, steer,
                                     steering, subscribe, wall)

    api = {"prefix": "/api/v1", "dependencies": [Depends(check_csrf)], "responses": api_v1.ERRORS}
    page = {"dependencies": [Depends(check_csrf)], "include_in_schema": False}
    return [
        (api_v1.router, {}),
        (apidocs.router, {}),
        (assessments_api.router, api),
        (assessments_api.public_router, api),
        (tasks_api.router, api),
        (targets_api.router, api),
        (subscriptions_api.router, api),
        (adjustments_api.router, api),
        (events.router, {}),
        (overview.router, page),
        (index766.router, page),
        (scorecard.router, page),
        (steer.router, page),
        (rankings.router, page),
        (reconcile.router, page),
        (steering.router, page),
        (committee.router, page),
        (geo.router, page),
        (rounds.router, page),
        (wall.router, page),
        (subscribe.router, page),
        (reports_web.router, {}),
        (pages.router, {}),
    ]

