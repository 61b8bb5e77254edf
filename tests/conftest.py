"""Shared fixtures: real stores (SQLite file and a throw-away PostgreSQL database).

Storage tests run against both. PostgreSQL comes from ``CHISO_TEST_POSTGRES_URL`` (default:
the local server with trust auth). Where it cannot be reached the PostgreSQL cases skip with
the reason, except under ``CI=true``, where a skip would hide an untested store: they fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from datetime import date
from pathlib import Path

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
    """A database created for one test (or one session) and dropped after it; with
    ``template``, a copy of that database (``CREATE DATABASE ... TEMPLATE``)."""

    def __init__(self, template: str | None = None) -> None:
        # The random part: test modules that import this file get a second copy of it (and of
        # the counter) beside the one pytest loaded, and the names must not collide.
        self.name = f"chiso_test_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        copy = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"{copy}'))
        self.admin.dispose()  # no idle connection held while the test runs and the drop waits
        self.url = make_url(PG_ADMIN_URL).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        """Drop the database, in the background: PostgreSQL makes every DROP DATABASE wait for
        a checkpoint (1.5–2.5 s here), which the next test need not wait for. The drops
        requested at once share checkpoints; :func:`finish_drops` waits for them all."""
        _DROPS.append(_dropper().submit(self._drop))

    def _drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


_DROPS: list[Future] = []
_DROPPER: list[ThreadPoolExecutor] = []


def _dropper() -> ThreadPoolExecutor:
    # Its threads finish the work left when the interpreter exits, whoever forgot to wait.
    if not _DROPPER:
        _DROPPER.append(ThreadPoolExecutor(max_workers=3, thread_name_prefix="pg-drop"))
    return _DROPPER[0]


def finish_drops() -> None:
    """Wait for the databases being dropped; a drop that failed fails here."""
    while _DROPS:
        _DROPS.pop(0).result()


def _make_store(backend: str, tmp_path_factory):
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("store") / "chiso.sqlite3"
        return f"sqlite:///{path}", None
    _need_pg()
    pg = PgDatabase()
    return pg.url, pg


# --------------------------------------------------------------------------- template stores

#: What a template holds: nothing but the schema, or province 68 (Lâm Đồng) loaded as well.
EMPTY, PROVINCE = "empty", "province"


def _fresh_identity(url: str) -> None:
    """A copy is a store of its own: a new id and creation time, and no records folder yet
    (SQLite: ``chiso.records`` beside its own file; PostgreSQL: ``<data_dir>/records/<id>``)."""
    from sqlalchemy import update

    from chiso.store.models import StoreIdentity

    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(StoreIdentity).where(StoreIdentity.id == 1).values(
            store_id=uuid.uuid4().hex, created_at=db.utcnow(), records_path=None, records_created_at=None))
    engine.dispose()


class StoreTemplates:
    """Per test process and backend, a migrated empty store and one holding province 68,
    each built once (on first use) by the code the tests ran for every store before:
    ``db.upgrade``, then ``init_province`` in one transaction. A test gets a copy: SQLite
    copies the file (the template's connections closed, its log checkpointed), PostgreSQL
    ``CREATE DATABASE ... TEMPLATE``; the copy then gets an identity of its own."""

    def __init__(self, tmp_path_factory) -> None:
        self.tmp = tmp_path_factory
        self.built: dict[tuple[str, str], str] = {}  # (backend, kind) -> SQLite path or database name
        self.pgs: list[PgDatabase] = []

    def _build(self, backend: str, kind: str) -> str:
        key = (backend, kind)
        if key in self.built:
            return self.built[key]
        url, pg = _make_store(backend, self.tmp) if kind == EMPTY else self._copy(backend, EMPTY)
        engine = db.make_engine(url)
        try:
            if kind == EMPTY:
                db.upgrade(engine)
            else:
                from chiso.units import service

                with db.transaction(engine) as session:
                    service.init_province(session, "68")
        except BaseException:
            engine.dispose()
            if pg is not None:
                pg.drop()
            raise
        engine.dispose()  # PostgreSQL copies a template nobody is connected to
        if pg is None:
            import sqlite3

            path = make_url(url).database
            with closing(sqlite3.connect(path)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.built[key] = path
        else:
            self.pgs.append(pg)
            self.built[key] = pg.name
        return self.built[key]

    def _copy(self, backend: str, kind: str, path: Path | None = None) -> tuple[str, PgDatabase | None]:
        source = self._build(backend, kind)
        if backend == "sqlite":
            path = path or self.tmp.mktemp("store") / "chiso.sqlite3"
            db.private_folder(path.parent)
            db.private_file(path)  # as make_engine makes a store's file: private
            shutil.copyfile(source, path)
            return f"sqlite:///{path}", None
        _need_pg()
        pg = PgDatabase(template=source)
        return pg.url, pg

    def copy(self, backend: str, kind: str, path: Path | None = None) -> tuple[str, PgDatabase | None]:
        """A new store, the same as the template of ``kind`` but for its identity; SQLite at
        ``path`` if given. Returns its URL and, for PostgreSQL, the database to drop."""
        url, pg = self._copy(backend, kind, path)
        _fresh_identity(url)
        return url, pg

    def close(self) -> None:
        for pg in self.pgs:
            pg.drop()
        finish_drops()


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory):
    templates = StoreTemplates(tmp_path_factory)
    yield templates
    templates.close()


@pytest.fixture(scope="session", autouse=True)
def _pg_drops_finished():
    """At the end, every database dropped, also those of the copy of this module that test
    modules importing ``tests.conftest`` load."""
    yield
    for name in {__name__, "tests.conftest"}:
        finish = getattr(sys.modules.get(name), "finish_drops", None)
        if finish is not None:
            finish()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def _copy_of(store_templates, backend: str, template, monkeypatch):
    """A test's own copy of a template store, set as CHISO_DATABASE_URL, dropped after."""
    url, pg = store_templates.copy(backend, template)
    monkeypatch.setenv("CHISO_DATABASE_URL", url)
    yield url
    if pg:
        pg.drop()


def _engine_of(url: str):
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def store_url(backend, store_templates, monkeypatch):
    """URL of an empty, migrated store of each kind; also set as CHISO_DATABASE_URL."""
    yield from _copy_of(store_templates, backend, EMPTY, monkeypatch)


@pytest.fixture
def engine(store_url):
    yield from _engine_of(store_url)


@pytest.fixture
def province_url(backend, store_templates, monkeypatch):
    """URL of a store of its own, of each kind, holding province 68 (Lâm Đồng) as
    ``init_province`` loads it; also set as CHISO_DATABASE_URL."""
    yield from _copy_of(store_templates, backend, PROVINCE, monkeypatch)


@pytest.fixture
def province_engine(province_url):
    yield from _engine_of(province_url)


@pytest.fixture(scope="session", params=BACKENDS)
def loaded_store_url(request, store_templates):
    """A store holding province 68 (Lâm Đồng), loaded once per backend for read-only tests."""
    url, pg = store_templates.copy(request.param, PROVINCE)
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
def demo_records(loaded, tmp_path):
    """``make(n, seed)``: a new record store with ``n`` of province 68's demo dossiers of
    2026 (received up to 26 November), with their procedures and feedback."""
    from datetime import date

    from chiso.dossiers import demo
    from chiso.dossiers.store import DossierStore, registry_units

    until = date(2026, 11, 26)

    def make(n: int, seed: int) -> DossierStore:
        files = demo.generate(province="68", units=demo.units_receiving_dossiers(loaded, "68", until), n=n,
                              seed=seed, year=2026, out_dir=tmp_path / f"gen-{seed}", until=until)
        registry = registry_units(loaded)
        store = DossierStore(tmp_path / f"demo-{seed}")
        for kind, path in (("procedures", files.procedures), ("feedback", files.feedback),
                           ("dossiers", files.dossiers)):
            store.import_files([path], source="demo", units=registry, kind=kind)
        return store

    return make


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
    "tests/reports/test_report_documents.py", "tests/subscriptions/test_worker_subscriptions.py",
}

#: Single tests of otherwise quick modules that take several seconds each (measured on the
#: 2-core machine, 6 December 2026: 3–8 s), so that the inner loop keeps to two minutes.
SLOW_TESTS = {
    "tests/index/test_incremental_counts.py::test_on_demo_data_every_unit_and_period_is_the_same_brought_forward_as_recounted",
    "tests/scoring/test_score_many.py::test_on_the_demo_datas_real_counts",
    "tests/index/test_index.py::test_a_units_own_selection_lists_what_every_units_file_lists",
    "tests/web/test_dashboard.py::test_after_the_warm_up_the_first_pages_compute_nothing_and_an_import_warms_again",
    "tests/web/test_dashboard.py::test_every_page_in_both_languages_keeps_the_content_security_policy",
    "tests/web/test_adjustments_web.py::test_a_deduction_from_the_unit_page",
    "tests/test_db.py::test_each_table_module_brings_the_tables_its_foreign_keys_name",
    "tests/web/test_accounts.py::test_wrong_passwords_from_anyone_never_lock_the_owner_out",
    "tests/web/test_accounts.py::test_an_administrator_unlocks_an_address",
    "tests/web/test_accounts.py::test_login_is_throttled_per_address",
    "tests/index/test_as_of.py::test_cli_as_of_and_version",
    "tests/test_cli.py::test_init_twice_reports_no_change",
    "tests/dossiers/test_dossier_store.py::test_two_imports_at_once_in_two_processes_both_land",
    "tests/web/test_committee_pages.py::test_the_procedure_catalogue_page",
    "tests/web/test_feed_freshness.py::test_the_overview_shows_each_feeds_freshness",
    "tests/index/test_counting_rules.py::test_a_dossier_only_submitted_is_stored_and_counted_nowhere",
    "tests/standing/test_standing.py::test_reconcile_finds_the_causes_down_to_the_dossiers",
    "tests/web/test_reports_page.py::test_a_commune_editor_previews_and_downloads_their_scorecard",
    "tests/web/test_events_cli.py::test_users_add_and_tokens_create_on_the_command_line",
}


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` what the inner loop (``pytest -m "not slow"``, under two minutes on two
    cores) leaves out: the browser, Apache Spark, the PostgreSQL twin of each storage test
    (its SQLite twin stays) and the modules and tests above. CI runs everything."""
    slow = pytest.mark.slow
    for item in items:
        if (item.get_closest_marker("browser") or item.get_closest_marker("spark")
                or item.get_closest_marker("postgres") or item.nodeid.split("::")[0] in SLOW_MODULES
                or item.nodeid.split("[")[0] in SLOW_TESTS):
            item.add_marker(slow)
