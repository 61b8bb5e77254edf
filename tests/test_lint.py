"""The code passes its linter and its type checker, with the configuration in pyproject.toml.

``ruff check`` looks for bugs a reader misses (unused and undefined names, late-bound loop
variables, mutable defaults); ``mypy`` holds the typed seams, strictly on the engine
(``chiso.scoring``), the index, the dossier store, the kernel and the HTTP helpers. Both run as subprocesses of the test's
own interpreter, so they check the code with the installed dependencies; their output is the
failure message. mypy keeps its cache in ``.mypy_cache`` at the root: a warm run takes
seconds, a cold one about a minute and a half on a busy two-core machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    done = _run("ruff", "check", "--no-cache", "src", "tests", "scripts")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    # The packages and the strict modules are named in [tool.mypy] of pyproject.toml.
    done = _run("mypy", "--cache-dir", str(ROOT / ".mypy_cache"))
    assert done.returncode == 0, done.stdout + done.stderr
