"""The ASGI application: ``create_app()`` builds it on the configured stores."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chiso import __version__, db
from chiso.auth.permissions import Actor, can
from chiso.web import errors
from chiso.web.cache import ResultCache
from chiso.web.deps import HERE, get_actor, make_templates
from chiso.web.security import Guard


def create_app(*, engine: Engine | None = None, store=None, events_interval: float = 2.0) -> FastAPI:
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

    @app.get("/healthz", tags=["health"],
             summary="Liveness; for an administrator also the version and the storage in use")
    def healthz(request: Request, actor: Actor = Depends(get_actor)) -> dict:
        with engine.connect() as conn:  # the store answers, or this fails with 500
            conn.execute(text("select 1"))
        if not can(actor, "admin"):
            # A monitor needs only the status; the database user, host and data path would
            # tell an outsider where to aim.
            return {"status": "ok"}
        return {
            "status": "ok",
            "version": __version__,
            "storage": {"database": engine.dialect.name, "url": db.describe(engine),
                        "dossiers": str(store.root)},
        }

    from chiso.reports import web as reports_web
    from chiso.web import api_v1, dashboard, events, pages

    app.include_router(api_v1.router)
    app.include_router(events.router)
    app.include_router(dashboard.router)
    app.include_router(reports_web.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(Guard)
    return app
