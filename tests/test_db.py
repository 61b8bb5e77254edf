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


def test_a_store_behind_the_newest_migration_is_refused_with_what_to_do(tmp_path):
    from alembic import command

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with engine.begin() as conn:
        cfg = db.alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with pytest.raises(ChisoError, match="chiso init"):
        db.require_schema(engine)
    db.upgrade(engine)
    db.require_schema(engine)
    engine.dispose()


def test_each_table_module_brings_the_tables_its_foreign_keys_name():
    """Commands load only what they use; a models module imported alone must still know
    every table its foreign keys point to, or the first flush fails (seen: the audit log
    written by `chiso dossiers import` in a fresh process)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    import chiso.models_registry as registry

    modules = [line.split()[1] for line in Path(registry.__file__).read_text().splitlines()
               if line.startswith("from chiso.")]
    # One fresh interpreter that has imported chiso.db and nothing of the models forks a child
    # per module, which imports that module alone (a process per module took 0.5 s each).
    probe = ("import importlib, json, os, sys\nfrom chiso.db import Base\n"
             "assert not Base.metadata.tables\n"
             "for name in sys.argv[1:]:\n"
             "    pid = os.fork()\n"
             "    if pid == 0:\n"
             "        importlib.import_module(name + '.models')\n"
             "        missing = sorted({fk.target_fullname for t in Base.metadata.tables.values() for fk in t.foreign_keys"
             " if fk.target_fullname.split('.')[0] not in Base.metadata.tables})\n"
             "        print(json.dumps([name, missing, len(Base.metadata.tables)]), flush=True)\n"
             "        os._exit(0)\n"
             "    assert os.waitpid(pid, 0)[1] == 0, name\n")
    done = subprocess.run([sys.executable, "-c", probe, *modules], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = [json.loads(line) for line in done.stdout.splitlines()]
    assert [name for name, _missing, _n in seen] == modules
    for name, missing, tables in seen:
        assert tables > 0, f"{name}.models defines no table"
        assert missing == [], f"{name}.models names tables it does not import: {missing}"
