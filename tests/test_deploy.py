"""The operator's kit (deploy/ and docs/deploy.md) as an operator would check it: the unit
files verify, the commands they run exist with those options, the settings they set are
chiso's, and the guide quotes the files as they are."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chiso import settings
from chiso.cli import main

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ["chiso.service", "chiso-worker.service", "chiso-resident.service", "chiso-backup.service", "chiso-backup.timer"]
CHISO = "/opt/chiso/.venv/bin/chiso"


def test_the_guide_quotes_every_file_as_it_is():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for path in sorted(DEPLOY.iterdir()):
        assert path.read_text(encoding="utf-8").rstrip("\n") in guide, f"docs/deploy.md does not quote {path.name}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None and os.environ.get("CI") != "true",
                    reason="systemd-analyze is not installed")
def test_the_unit_files_verify(tmp_path):
    """`systemd-analyze verify` on the units, with chiso's path and settings file pointed
    at this checkout's (it checks that the programs they start exist)."""
    chiso = Path(sys.executable).with_name("chiso")
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        text = text.replace(CHISO, str(chiso)).replace("/etc/chiso/chiso.env", str(DEPLOY / "chiso.env"))
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in done.stderr.splitlines() if tmp_path.name in line or "chiso" in line]
    assert done.returncode == 0 and not problems, done.stderr


def _chiso_commands():
    for name in UNITS:
        for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
            if line.startswith(("ExecStart=", "ExecStartPost=")):
                command = line.split("=", 1)[1]
                if CHISO not in command:
                    continue
                if command.startswith("/bin/sh -c "):
                    command = shlex.split(command)[2].removeprefix("exec ")
                argv = shlex.split(command.replace("$(date +%%Y%%m%%d-%%H%%M)", "x"))
                yield name, argv[argv.index(CHISO) + 1:]


def test_every_command_the_units_run_exists_with_those_options(capsys):
    seen = 0
    for name, argv in _chiso_commands():
        # --help after the options: click parses the options (refusing unknown ones) first.
        assert main([*argv, "--help"]) == 0, (name, argv, capsys.readouterr().err)
        seen += 1
    assert seen == 4
    capsys.readouterr()


def test_every_setting_the_operator_sets_is_one_of_chisos():
    known = {s.env for s in settings.SETTINGS}
    names = re.findall(r"^(CHISO_\w+)=", (DEPLOY / "chiso.env").read_text(encoding="utf-8"), re.M)
    assert names and set(names) <= known, set(names) - known


def test_nginx_takes_uploads_as_large_as_chiso_does_and_passes_the_client_on():
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    limit = re.search(r"client_max_body_size (\d+)m;", conf)
    default = next(s for s in settings.SETTINGS if s.name == "max_upload_mb").default()
    assert limit and limit.group(1) == default
    for header in ("X-Forwarded-For", "X-Forwarded-Proto"):
        assert conf.count(f"proxy_set_header {header}") == conf.count("proxy_pass ")
    assert "proxy_buffering off" in conf.split("location /events", 1)[1]
