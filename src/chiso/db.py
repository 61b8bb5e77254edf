"""The operational store: SQLAlchemy engine, sessions and migrations.

One URL (setting ``database_url``) chooses the store: an embedded SQLite file by default,
PostgreSQL for a province's server. The schema is owned by Alembic migrations from the first
table on; :func:`upgrade` brings any store to the newest revision and is safe to run again.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import MetaData, create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from chiso import settings
from chiso.errors import ChisoError
from chiso.i18n import _

# Constraint names fixed by convention so that migrations name them the same on every store.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



#: Store files hold personal data of citizens (dossiers) and password hashes: only the
#: account that runs chiso may read them, whatever the umask of the shell that started it.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def private_folder(path: Path) -> Path:
    """Make ``path`` (and its missing parents) if missing; a folder made here is private.
    A folder that already exists keeps its mode: it may be shared on purpose (``/srv``)."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        os.chmod(path, PRIVATE_FOLDER)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path) -> None:
    """Create ``path`` empty and private if it does not exist yet."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        return
    os.chmod(path, PRIVATE_FILE)


def utcnow() -> datetime:
    """Now, in UTC: what every timestamp column stores (SQLite hands it back naive)."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets the dashboard read while an import writes; foreign keys are off by default.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """The engine of the store named by ``url`` (default: the setting ``database_url``)."""
    url = url or settings.get("database_url")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ChisoError(_("Invalid database URL: {url}").format(url=url)) from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            path = Path(parsed.database)
            private_folder(path.parent)

            @event.listens_for(engine, "do_connect")
            def _private_database(*_args) -> None:
                # SQLite would create the file with the umask's mode (often 0644); its
                # -wal and -shm files take the mode of the database file.
                private_file(path)

        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def describe(engine: Engine) -> str:
    """The store in use, without any password, for messages and the health check."""
    return engine.url.render_as_string(hide_password=True)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    try:
        with engine.begin() as conn:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise ChisoError(
            _("Cannot open the database {url}: {reason}").format(
                url=describe(engine), reason=str(exc.orig).strip().splitlines()[0]
            )
        ) from None


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None before the first). Read with one query:
    importing alembic to ask it took a third of a second of every command's start."""
    from sqlalchemy import text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    if len(rows) > 1:  # several heads: alembic says what that means
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return rows[0][0] if rows else None


def require_schema(engine: Engine) -> None:
    """Refuse to work on a store that ``chiso init`` has not prepared."""
    try:
        ready = inspect(engine).has_table("units")
    except OperationalError as exc:
        raise ChisoError(
            _("Cannot open the database {url}: {reason}").format(
                url=describe(engine), reason=str(exc.orig).strip().splitlines()[0]
            )
        ) from None
    if not ready:
        raise ChisoError(
            _("The database {url} is not initialised; run `chiso init --province CODE` first.").format(
                url=describe(engine)
            )
        )
    if current_revision(engine) != head_revision():
        raise ChisoError(
            _("The database {url} was made by an older chiso; run `chiso init --province CODE` to upgrade it.").format(
                url=describe(engine)
            )
        )


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration this version of chiso knows: the one revision of the
    migration files no other revises, read from their ``revision`` lines (alembic's
    ScriptDirectory answers the same, for a third of a second of import; it is asked when
    the files do not name exactly one head)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            quoted = set(re.findall(r"['\"]([^'\"]+)['\"]", value))
            (revisions if name == "revision" else revised).update(quoted)
    heads = revisions - revised
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed whole, or rolled back whole on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def insert_ignore(engine: Engine, model, values: dict, *, keys: list[str]) -> None:
    """Insert one row of ``model`` unless a row with the same ``keys`` (a unique constraint)
    exists: the first half of the workers' claim, safe when two workers race."""
    from sqlalchemy import insert

    name = engine.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only the two stores above are supported
        dialect_insert = None
    with engine.begin() as conn:
        if dialect_insert is None:
            conn.execute(insert(model).values(**values))
        else:
            conn.execute(dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))
