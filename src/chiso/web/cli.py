"""``chiso serve``: the web application on the configured stores."""

from __future__ import annotations

import socket

import click

from chiso import db
from chiso.clitools import engine_ready
from chiso.errors import ChisoError
from chiso.i18n import _


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, taken before anything else is done: a port already
    in use is one clear line, not a success message followed by the server's own error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ChisoError(_("Cannot listen on {host}:{port} ({reason}): another program, perhaps another "
                           "chiso, uses it; stop it or choose another port with --port.").format(
            host=host, port=port, reason=exc.strerror or exc)) from None
    sock.set_inheritable(True)
    return sock


def run_server(*, host: str, port: int, engine=None, sock: socket.socket | None = None) -> None:
    import uvicorn

    from chiso.web.app import create_app

    sock = sock or listen(host, port)
    app = create_app(engine=engine or engine_ready())
    # The first pages' figures are computed while the first person is still logging in,
    # and again after every import.
    from chiso.web.dashboard import warmup

    warmup.start(app)
    click.echo(_("chiso is serving {store} at http://{host}:{port}/ (Ctrl-C stops it)").format(
        store=db.describe(app.state.engine), host=host if ":" not in host else f"[{host}]", port=port))
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=False,
                            server_header=False)
    uvicorn.Server(config).run(sockets=[sock])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Start the web application and the HTTP API."""
    run_server(host=host, port=port)
