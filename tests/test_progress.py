"""Progress bars (issue 18): on a terminal, long commands show how far they are; in JSON
output, or with standard error piped, nothing but the answer is written.

The commands run as a person would run them: in a child process whose standard error is
a pseudo-terminal (or a pipe)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
HIDE_CURSOR = b"\x1b[?25l"  # what a live bar writes first


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=SRC, CHISO_DATABASE_URL=f"sqlite:///{tmp_path / 'store.sqlite3'}",
                CHISO_DATA_DIR=str(tmp_path / "data"), CHISO_LANG="en", TERM="xterm")


def _run(args: list[str], env: dict[str, str], *, terminal: bool) -> tuple[int, str, bytes]:
    """Run ``chiso args``; standard error a pseudo-terminal or a pipe. Returns the exit code,
    standard output and standard error."""
    if not terminal:
        done = subprocess.run([sys.executable, "-m", "chiso", *args], env=env, capture_output=True, timeout=600)
        return done.returncode, done.stdout.decode(), done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "chiso", *args], env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = proc.communicate(timeout=600)[0]
    return proc.returncode, out.decode(), err


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = _env(tmp_path)
    code, _out, err = _run(["init", "--province", "68"], env, terminal=False)
    assert code == 0, err
    return env


def test_a_terminal_sees_progress_and_json_or_a_pipe_do_not(env, tmp_path):
    code, out, err = _run(["demo-data", "--province", "68", "--dossiers", "2000", "--out",
                           str(tmp_path / "d.csv")], env, terminal=False)
    assert code == 0 and err == b""

    code, out, err = _run(["dossiers", "import", "--source", "demo", str(tmp_path / "d.csv")], env, terminal=True)
    assert code == 0 and HIDE_CURSOR in err and b"Importing" in err
    assert "inserted" in out and "\x1b" not in out  # the table, without the bar's escapes

    code, out, err = _run(["dossiers", "import", "--source", "demo", "--format", "json", str(tmp_path / "d.csv")],
                          env, terminal=True)
    assert code == 0 and HIDE_CURSOR not in err and b"Importing" not in err
    assert json.loads(out)["unchanged"] > 0

    code, out, err = _run(["dossiers", "import", "--source", "demo", str(tmp_path / "d.csv")], env, terminal=False)
    assert code == 0 and err == b""


def test_demo_data_and_backup_show_their_steps_on_a_terminal(env, tmp_path):
    code, _out, err = _run(["demo-data", "--province", "68", "--dossiers", "2000"], env, terminal=True)
    assert code == 0 and b"Generating 2000 demo dossiers" in err and b"Importing dossiers" in err
    code, _out, err = _run(["backup", "--out", str(tmp_path / "b.tar")], env, terminal=True)
    assert code == 0 and b"Writing the backup" in err
    code, out, err = _run(["backup", "--out", str(tmp_path / "c.tar"), "--format", "json"], env, terminal=True)
    assert code == 0 and HIDE_CURSOR not in err and json.loads(out)["record_files"] > 0
