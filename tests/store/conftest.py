"""Each store test starts from no configured store: messages in English (the msgids), a data
folder of its own, no database URL and no records folder set."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english(monkeypatch, tmp_path):
    monkeypatch.setenv("CHISO_LANG", "en")
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHISO_RECORDS_PATH", raising=False)
    monkeypatch.delenv("CHISO_DATABASE_URL", raising=False)
