"""What every command shares: option types and opening the store."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

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
