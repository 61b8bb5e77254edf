"""The command line as the acceptance checks and users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chiso.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def chiso_process(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed ``chiso`` entry point in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "chiso", *argv], capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=120,
    )


def test_units_list_json_today_and_before_the_reform(loaded_url, monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_url)
    code, out, err = run(capsys, "units", "list", "--level", "commune", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 124
    assert {"code", "name", "level", "parent"} <= set(rows[0])
    assert all(r["level"] == "commune" and r["parent"] == "68" for r in rows)

    code, out, err = run(capsys, "units", "list", "--level", "commune", "--as-of", "2025-06-30", "--format", "json")
    old = json.loads(out)
    assert code == 0 and len(old) > 300
    assert {r["code"] for r in old}.isdisjoint({r["code"] for r in rows} - {r["code"] for r in old if not r["code"].startswith("old:")})
    assert all(r["parent"].startswith("old:") for r in old)


def test_lineage_json_names_the_three_former_provinces(loaded_url, monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_url)
    code, out, err = run(capsys, "units", "lineage", "68", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert {p["official_code"] for p in data["predecessors"]} == {"60", "67", "68"}
    assert all({"event", "effective_date"} <= set(p) for p in data["predecessors"])


@pytest.mark.parametrize(
    "argv",
    [
        ["units", "list", "--as-of", "2025-13-01"],
        ["units", "list", "--as-of", "yesterday"],
        ["units", "lineage", "nowhere"],
        ["units", "list", "--level", "galaxy"],
        ["periods", "show", "2025-Q5"],
    ],
)
def test_bad_input_gives_one_line_on_stderr(loaded_url, monkeypatch, capsys, argv):
    monkeypatch.setenv("CHISO_DATABASE_URL", loaded_url)
    code, out, err = run(capsys, *argv)
    assert code != 0
    assert err.startswith("chiso: ") and err.count("\n") == 1, err


def test_init_with_unknown_province_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    proc = chiso_process("init", "--province", "99", env={"CHISO_DATABASE_URL": url})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "99" in proc.stderr
    proc = chiso_process("units", "list", env={"CHISO_DATABASE_URL": url})
    # The schema may exist, but no unit was written.
    assert proc.returncode == 0 and proc.stdout.count("\n") == 2, proc.stdout + proc.stderr


def test_commands_on_an_uninitialised_store_say_what_to_do(tmp_path):
    proc = chiso_process("units", "list", env={"CHISO_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"})
    assert proc.returncode == 1 and "chiso init" in proc.stderr and proc.stderr.count("\n") == 1


def test_init_twice_reports_no_change(tmp_path):
    env = {"CHISO_DATABASE_URL": f"sqlite:///{tmp_path / 'twice.sqlite3'}"}
    first = chiso_process("init", "--province", "11", "--format", "json", env=env)
    assert first.returncode == 0, first.stderr
    second = chiso_process("init", "--province", "11", "--format", "json", env=env)
    data = json.loads(second.stdout)
    assert data["inserted"] == {} and data["updated"] == {}, data


def test_settings_docs_are_generated_from_the_table():
    from pathlib import Path

    from chiso import settings

    page = Path(__file__).parents[1] / "docs" / "settings.md"
    assert page.read_text(encoding="utf-8") == settings.docs_markdown(), (
        "docs/settings.md is out of date: run `chiso settings --format markdown > docs/settings.md`"
    )
    for s in settings.SETTINGS:
        assert s.env in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_settings_never_print_secrets(monkeypatch, capsys, fmt):
    """Issue 18: `chiso settings` printed the database password and the webhook token."""
    monkeypatch.setenv("CHISO_DATABASE_URL", "postgresql+psycopg://chiso:db-Secret-1@db.example:5432/chiso?password=db-Secret-2")
    monkeypatch.setenv("CHISO_WEBHOOK_URL", "https://hooks.example.org/services/T0/B0/hook-Secret-3?token=hook-Secret-4")
    monkeypatch.setenv("CHISO_SMTP_PASSWORD", "smtp-Secret-5")
    code, out, err = run(capsys, "settings", "--format", fmt)
    assert code == 0, err
    assert "Secret" not in out
    assert "db.example" in out and "hooks.example.org" in out  # still tells which store and webhook


def test_settings_show_urls_without_secrets_unchanged(monkeypatch, capsys):
    monkeypatch.setenv("CHISO_DATABASE_URL", "sqlite:////srv/chiso/chiso.sqlite3")
    code, out, _err = run(capsys, "settings", "--format", "json")
    assert code == 0
    assert {r["name"]: r["value"] for r in json.loads(out)}["database_url"] == "sqlite:////srv/chiso/chiso.sqlite3"


def test_a_command_that_exits_with_a_code_keeps_it(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n", encoding="utf-8")
    assert main(["methods", "validate", str(bad)]) == 1
    assert "bands" in capsys.readouterr().out


def test_numbers_follow_the_language(monkeypatch):
    from chiso.output import number

    monkeypatch.setenv("CHISO_LANG", "vi")
    assert number(1234.5) == "1.234,50"
    monkeypatch.setenv("CHISO_LANG", "en")
    assert number(1234.5) == "1,234.50"


def test_secret_settings_are_never_printed(monkeypatch, capsys):
    monkeypatch.setenv("CHISO_SMTP_PASSWORD", "hunter2")
    assert main(["settings", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and '"***"' in out


def test_help_lists_every_command_without_loading_them():
    """`chiso --help` answers without importing any domain, SQLAlchemy or the web stack,
    and lists every command with the summary its own docstring gives."""
    probe = ("import sys; from chiso.cli import main; main(['--help']); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlalchemy', 'fastapi', 'duckdb', 'matplotlib', 'openpyxl', 'yaml') "
             "or m.split('.')[:2] in (['chiso', 'units'], ['chiso', 'index'], ['chiso', 'web'])))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "demo-data" in done.stdout and "worker" in done.stdout


def test_lazy_command_summaries_match_their_docstrings():
    import importlib

    from chiso.cli import LAZY_COMMANDS, cli

    for name, (module, attribute, summary) in LAZY_COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert command.name == name or name in cli.commands
        first = command.get_short_help_str(1000)
        assert first == summary, f"{name}: the summary in LAZY_COMMANDS says {summary!r}, the docstring {first!r}"


def test_a_command_starts_with_the_garbage_collector_held_for_a_second(monkeypatch):
    """Importing a command's modules makes objects, not garbage: the collector waits for the
    first second of a command (``quiet_start``), then comes back for a longer one."""
    import gc
    import time

    from chiso import cli

    monkeypatch.setattr(cli, "QUIET_START_SECONDS", 0.2)
    was = gc.isenabled()
    try:
        cli.quiet_start()
        assert not gc.isenabled()
        deadline = time.monotonic() + 10
        while not gc.isenabled():
            assert time.monotonic() < deadline, "the collector did not come back"
            time.sleep(0.05)
    finally:
        if was:
            gc.enable()


def test_json_is_indented_at_a_terminal_and_one_item_a_line_in_a_pipe():
    """The same value either way; a pipe (a file, jq, another program) gets each item of a
    list, or member of an object, on its own line, written by the C encoder."""
    import json
    from datetime import date

    from chiso.output import json_text

    rows = [{"unit": "25042", "name": "Phường Xuân Hương - Đà Lạt", "total": 87.5, "day": date(2025, 9, 30)},
            {"unit": "25045", "name": "Phường Cam Ly - Đà Lạt", "total": None, "groups": {"1": [1, 2]}}]
    piped, shown = json_text(rows), json_text(rows, terminal=True)
    assert json.loads(piped) == json.loads(shown) == json.loads(json.dumps(rows, default=str))
    assert piped.splitlines()[1:-1] == [json.dumps(r, ensure_ascii=False, default=str) + "," for r in rows[:1]] + [
        json.dumps(rows[1], ensure_ascii=False)]
    assert "Xuân Hương" in piped and "\n  " in shown
    info = {"store_id": "S1", "version": 3, "ids": ["d1", "d2"], "made": date(2026, 12, 6)}
    assert json_text(info).splitlines() == ["{", '"store_id": "S1",', '"version": 3,', '"ids": ["d1", "d2"],',
                                            '"made": "2026-12-06"', "}"]
    assert json.loads(json_text(info)) == json.loads(json_text(info, terminal=True))
    assert [json_text(v) for v in ([], {}, None, 2)] == ["[]", "{}", "null", "2"]
