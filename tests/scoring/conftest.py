"""Fixtures for the scoring tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Messages in English (the msgids), whatever the user's language: the tests read them."""
    monkeypatch.setenv("CHISO_LANG", "en")


@pytest.fixture(scope="module")
def load_tree(tmp_path_factory):
    """Load a tree definition from its YAML text (the engine tests read like the files)."""
    from chiso.methods import loader

    folder = tmp_path_factory.mktemp("trees")
    count = iter(range(10_000))

    def load(text: str):
        path = folder / f"tree{next(count)}.yaml"
        path.write_text(text, encoding="utf-8")
        return loader.load(path, kind="tree")

    return load
