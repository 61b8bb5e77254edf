"""The store: migrations match the models on both backends; a bad URL is a clear error."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chiso import db
from chiso.db import Base
from chiso.errors import ChisoError


def test_migrations_create_exactly_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "models and migrations disagree; add a migration"


def test_upgrade_is_idempotent(engine):
    first = db.current_revision(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == first is not None


def test_bad_urls_are_clear_errors(tmp_path):
    with pytest.raises(ChisoError):
        db.make_engine("not a url")
    engine = db.make_engine("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ChisoError, match="127.0.0.1:1"):
        db.upgrade(engine)


def test_describe_hides_passwords():
    engine = db.make_engine("postgresql://user:secret@127.0.0.1:5432/x")
    assert "secret" not in db.describe(engine)
