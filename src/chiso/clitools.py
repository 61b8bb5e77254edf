"""What every command shares: option types and opening the store."""

from __future__ import annotations

from datetime import date

import click

from chiso.i18n import _

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


def engine_ready():
    """The configured store, refusing one that ``chiso init`` has not prepared."""
    from chiso import db  # SQLAlchemy only for the commands that open a store

    engine = db.make_engine()
    db.require_schema(engine)
    return engine


def records(where):
    """The columnar records of the store of ``where`` (an engine or a session), in the
    store's own folder, refused when that folder is another store's."""
    from chiso.store.service import open_records

    return open_records(where)
