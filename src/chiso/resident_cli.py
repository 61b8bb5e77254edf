"""``chiso resident``: the process that spares each command its start-up (:mod:`chiso.resident`)."""

from __future__ import annotations

import time

import click

from chiso import resident as res
from chiso.i18n import _


@click.command("resident")
@click.option("--socket", "path", metavar="PATH",
              help="Listen here (default: the setting resident_socket, else a socket of this user's "
                   "for this copy of chiso).")
@click.option("--idle-exit", "idle", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Stop when no command came for this long (default: never).")
def resident(path: str | None, idle: float | None) -> None:
    """Keep chiso's modules imported, so that each command starts in a fraction of the time."""
    path = path or res.socket_path()
    started = time.perf_counter()
    failed = res.preload()
    sock = res.listen(path)
    click.echo(_("chiso resident: modules imported in {seconds:.1f} s; listening at {path}").format(
        seconds=time.perf_counter() - started, path=path), err=True)
    if failed:
        click.echo(_("Not imported ahead (the commands that use them import them): {names}").format(
            names=", ".join(failed)), err=True)
    try:
        why = res.serve(sock, path, idle_seconds=idle)
    finally:
        sock.close()
    reasons = {
        "idle": _("no command came for {seconds:g} s").format(seconds=idle or 0),
        "changed": _("chiso's files changed (start it again to use the new ones)"),
        "removed": _("its socket was removed or taken by another resident"),
        "stopped": _("stopped by a signal (Ctrl-C, SIGTERM)"),
    }
    click.echo(_("chiso resident ended: {why}").format(why=reasons[why]), err=True)
