"""Fixtures for the method tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Messages in English (the msgids), whatever the user's language: the tests read them."""
    monkeypatch.setenv("CHISO_LANG", "en")
