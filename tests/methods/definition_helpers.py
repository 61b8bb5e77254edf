"""Helpers shared by the tests of method definition files (flat and tree)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chiso.methods import loader
from chiso.methods.loader import DefinitionError


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing ``fragment``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return hits[occurrence - 1]


def refused(tmp_path: Path, text: str) -> list[str]:
    """The problems of a definition that must be refused, the same from validate and load."""
    path = write(tmp_path, text)
    problems = loader.validate(path)
    assert problems, "expected problems"
    with pytest.raises(DefinitionError) as exc:
        loader.load(path)
    assert exc.value.problems == problems
    return problems


def assert_problem(problems: list[str], *, file: Path, line: int, node: str, words: str) -> None:
    pattern = re.compile(rf"^{re.escape(str(file))}:{line}: {re.escape(node)}: .*{words}")
    assert any(pattern.search(p) for p in problems), "\n".join(problems)
