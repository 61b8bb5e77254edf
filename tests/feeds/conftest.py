"""Fixtures of the feed tests: the loaded store (province 68) whose feeds each test leaves
empty, a records store of the test's own, and a commune that receives dossiers."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from chiso import db
from chiso.dossiers import DossierStore


@pytest.fixture(autouse=True)
def english(monkeypatch, tmp_path):
    monkeypatch.setenv("CHISO_LANG", "en")
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHISO_TIMEZONE", "Asia/Ho_Chi_Minh")
    monkeypatch.setenv("CHISO_FEED_KEY", "a key for the tests only")


@pytest.fixture
def engine(loaded_url):
    from chiso.feeds.models import FeedPage, SourceFeed

    engine = db.make_engine(loaded_url)
    yield engine
    with engine.begin() as conn:  # the tables are shared by the tests of this store
        conn.execute(delete(FeedPage))
        conn.execute(delete(SourceFeed))
    engine.dispose()


@pytest.fixture
def store(tmp_path) -> DossierStore:
    return DossierStore(tmp_path / "store")


@pytest.fixture
def commune(engine) -> str:
    from chiso.units.models import Unit

    with db.transaction(engine) as session:
        return session.scalar(select(Unit.code).where(Unit.level == "commune", Unit.valid_to.is_(None))
                              .order_by(Unit.code).limit(1))
