"""A demonstration store for the report tests: province 68 (Lâm Đồng) in SQLite and a few
thousand synthetic dossiers of 2026, built once per session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chiso import db
from chiso.dossiers import demo
from chiso.dossiers.store import registry_units
from chiso.store.service import open_records
from tests.conftest import PROVINCE

UNTIL = date(2026, 11, 26)


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory, store_templates):
    root = tmp_path_factory.mktemp("reports")
    # Province 68 loaded: a copy of the template store (migrated, init_province).
    url, _pg = store_templates.copy("sqlite", PROVINCE, root / "chiso.sqlite3")
    engine = db.make_engine(url)
    store = open_records(engine)  # the store's own folder, chiso.records beside the database
    with db.transaction(engine) as s:
        demo_units = demo.units_receiving_dossiers(s, "68", UNTIL)
        files = demo.generate(province="68", units=demo_units, n=8000, seed=3, year=2026, out_dir=root / "gen",
                              until=UNTIL)
        known = registry_units(s)
        for kind, path in (("procedures", files.procedures), ("feedback", files.feedback),
                           ("dossiers", files.dossiers)):
            store.import_files([path], source="demo", kind=kind, units=known)
    engine.dispose()
    return {"url": url, "root": root, "store": store}


@pytest.fixture
def env(demo_env, monkeypatch, tmp_path):
    """The demo store as the configured one; data_dir is a fresh folder per test."""
    monkeypatch.setenv("CHISO_DATABASE_URL", demo_env["url"])
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHISO_LANG", "vi")
    return demo_env


@pytest.fixture
def session(env):
    """A session whose writes are rolled back."""
    from sqlalchemy.orm import Session

    engine = db.make_engine(env["url"])
    with engine.connect() as conn:
        trans = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint")
        yield s
        s.close()
        trans.rollback()
    engine.dispose()


@pytest.fixture
def pdf_pages(tmp_path):
    return lambda data: _pdf_pages(data, tmp_path)


def _pdf_pages(data: bytes, tmp_path: Path) -> list[Path]:
    """Every page of a PDF as a PNG (pdftoppm), each checked to exist and not be blank."""
    import subprocess

    from PIL import Image, ImageStat

    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    for p in pages:
        with Image.open(p) as im:
            stat = ImageStat.Stat(im.convert("L"))
            assert stat.extrema[0][0] < 100, f"{p.name} is blank"
            assert stat.stddev[0] > 5, f"{p.name} is blank"
    return pages
