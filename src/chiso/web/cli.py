"""``chiso serve``: the web application on the configured stores."""

from __future__ import annotations

import logging
import threading

import click

from chiso import db
from chiso.clitools import engine_ready
from chiso.i18n import _


def run_server(*, host: str, port: int, engine=None) -> None:
    import uvicorn

    from chiso.web.app import create_app

    app = create_app(engine=engine or engine_ready())
    # The overview's figures are computed while the first person is still logging in.
    threading.Thread(target=_warm, args=(app,), name="chiso-warm", daemon=True).start()
    click.echo(_("chiso is serving {store} at http://{host}:{port}/ (Ctrl-C stops it)").format(
        store=db.describe(app.state.engine), host=host if ":" not in host else f"[{host}]", port=port))
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)


def _warm(app) -> None:
    from chiso.web.dashboard.overview import warm

    try:
        warm(app)
    except Exception:  # only time is lost: the first request computes it instead
        logging.getLogger("chiso.web").exception("warming the overview failed")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Start the web application and the HTTP API."""
    run_server(host=host, port=port)
