"""Shared fixtures: real stores (SQLite file and a throw-away PostgreSQL database).

Storage tests run against both. PostgreSQL comes from ``CHISO_TEST_POSTGRES_URL`` (default:
the local server with trust auth). Where it cannot be reached the PostgreSQL cases skip with
the reason, except under ``CI=true``, where a skip would hide an untested store: they fail.
"""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from chiso import db

PG_ADMIN_URL = os.environ.get(
    "CHISO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
_counter = itertools.count()
_pg_error: str | None = None


def _pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    global _pg_error
    if _pg_error is None:
        try:
            engine = create_engine(PG_ADMIN_URL)
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _pg_error = ""
        except Exception as exc:  # any failure to connect is a reason to skip
            _pg_error = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc.__class__.__name__}"
    return _pg_error or None


def _need_pg() -> None:
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: storage tests must run on PostgreSQL)")
        pytest.skip(reason)


class PgDatabase:
    """A database created for one test (or one session) and dropped after it."""

    def __init__(self) -> None:
        # The random part: test modules that import this file get a second copy of it (and of
        # the counter) beside the one pytest loaded, and the names must not collide.
        self.name = f"chiso_test_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(PG_ADMIN_URL).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _make_store(backend: str, tmp_path_factory):
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("store") / "chiso.sqlite3"
        return f"sqlite:///{path}", None
    _need_pg()
    pg = PgDatabase()
    return pg.url, pg


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_url(backend, tmp_path_factory, monkeypatch):
    """URL of an empty, migrated store of each kind; also set as CHISO_DATABASE_URL."""
    url, pg = _make_store(backend, tmp_path_factory)
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("CHISO_DATABASE_URL", url)
    yield url
    if pg:
        pg.drop()


@pytest.fixture
def engine(store_url):
    engine = db.make_engine(store_url)
    yield engine
    engine.dispose()


_loaded: dict[str, str] = {}


@pytest.fixture(scope="session", params=BACKENDS)
def loaded_store_url(request, tmp_path_factory):
    """A store holding province 68 (Lâm Đồng), loaded once per backend for read-only tests."""
    from chiso.units import service

    url, pg = _make_store(request.param, tmp_path_factory)
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.transaction(engine) as session:
        service.init_province(session, "68")
    engine.dispose()
    yield url
    if pg:
        pg.drop()


@pytest.fixture
def loaded_url(loaded_store_url, monkeypatch, tmp_path):
    """The loaded store for one test: its records go to a folder of the test's own, which
    the store starts afresh (the tables are shared by the tests; the records are not)."""
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_store_url)
    monkeypatch.setenv("CHISO_RECORDS_PATH", str(tmp_path / "records"))
    engine = db.make_engine(loaded_store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE store_identity SET records_created_at = NULL"))
    engine.dispose()
    return loaded_store_url


@pytest.fixture
def loaded(loaded_url):
    """A session on the loaded store; whatever the test writes is rolled back."""
    from sqlalchemy.orm import Session

    engine = db.make_engine(loaded_url)
    with engine.connect() as conn:
        trans = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        yield session
        session.close()
        trans.rollback()
    engine.dispose()


@pytest.fixture
def today() -> date:
    return date(2026, 11, 26)


# --------------------------------------------------------------------------- the inner loop

#: Modules whose tests build a large store, start servers or subprocesses, or run for many
#: seconds each (see the durations of a whole run: ``pytest --durations=50``).
SLOW_MODULES = {
    "tests/index/test_reference_path.py", "tests/index/test_invariants.py", "tests/web/test_openapi_fuzz.py",
    "tests/web/test_vietnamese.py", "tests/test_demo_command.py", "tests/test_progress.py",
    "tests/feeds/test_feed_pull.py", "tests/reports/test_official_documents.py", "tests/store/test_backup.py",
}


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` what the inner loop (``pytest -m "not slow"``, under two minutes on two
    cores) leaves out: the browser, Apache Spark, the PostgreSQL twin of each storage test
    (its SQLite twin stays) and the modules above. CI runs everything."""
    slow = pytest.mark.slow
    for item in items:
        if (item.get_closest_marker("browser") or item.get_closest_marker("spark")
                or item.get_closest_marker("postgres") or item.nodeid.split("::")[0] in SLOW_MODULES):
            item.add_marker(slow)
