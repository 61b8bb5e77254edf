"""Fixtures for the dossier store tests (helpers are in ``dossier_helpers``)."""

from __future__ import annotations

import pytest

from chiso.dossiers import DossierStore


@pytest.fixture(autouse=True)
def english(monkeypatch, tmp_path):
    """Messages in English (the msgids), and no test touches the user's data folder."""
    monkeypatch.setenv("CHISO_LANG", "en")
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHISO_TIMEZONE", "Asia/Ho_Chi_Minh")


@pytest.fixture
def store(tmp_path) -> DossierStore:
    return DossierStore(tmp_path / "store")
