"""What every command shares: option types and opening the store."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Iterator

import click

from chiso.i18n import _

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

FORMATS = click.Choice(["table", "json"])


class DateType(click.ParamType):
    """A calendar date written YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(_("{value!r} is not a date in the form YYYY-MM-DD").format(value=value), param, ctx)


DATE = DateType()


def engine_ready() -> Engine:
    """The configured store, refusing one that ``chiso init`` has not prepared."""
    from chiso import db  # SQLAlchemy only for the commands that open a store

    engine = db.make_engine()
    db.require_schema(engine)
    return engine


# Returns a chiso.dossiers.store.DossierStore; not annotated, since naming it here would be an
# arrow from the commands' helpers to a domain (tests/test_layout.py).
def records(where: Engine | Session):
    """The columnar records of the store of ``where`` (an engine or a session), in the
    store's own folder, refused when that folder is another store's."""
    from chiso.store.service import open_records

    return open_records(where)


class Bar:
    """A progress bar on standard error (rich): call it with ``(done, total)`` as the
    import's ``progress`` callback; :meth:`step` names the next part of the work."""

    def __init__(self, progress, label: str) -> None:
        self._progress = progress
        self._task = progress.add_task(label, total=None)

    def __call__(self, done: float, total: float | None = None) -> None:
        self._progress.update(self._task, completed=done, total=total or None)

    def step(self, label: str, total: float | None = None) -> None:
        """A new part of the work: the bar starts again under ``label``."""
        self._progress.reset(self._task, total=total, description=label)


def show_progress(fmt: str = "table") -> bool:
    """Progress bars only for a person at a terminal: never in JSON output, never when
    standard error is piped or redirected (a log, a test, a cron job)."""
    return fmt != "json" and sys.stderr.isatty()


@contextmanager
def progress_bar(label: str, *, fmt: str = "table") -> Iterator[Bar | None]:
    """A :class:`Bar` while the block runs, or None where :func:`show_progress` says no
    (callers pass the None on: work without a callback reports nothing)."""
    if not show_progress(fmt):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
        yield Bar(progress, label)


def exit_if_refused(summary) -> None:
    """A file refused as a whole (an import's ``summary.refused``): the summary was the
    answer, but one line on standard error says so and the exit code tells a script."""
    if summary.refused:
        from chiso.output import error

        error(_("{n} rows rejected, nothing imported; see {path}.").format(
            n=summary.rejected, path=summary.rejects_path))
        raise click.exceptions.Exit(1)
