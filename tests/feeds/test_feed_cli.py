"""``chiso sources`` as the acceptance uses it, against a real HTTP source on 127.0.0.1; and
a page of the feed pushed to the dossier upload instead (``POST /api/v1/dossiers``'s path)."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from chiso import db
from chiso.auth.permissions import command_line
from chiso.cli import cli
from chiso.dossiers import service as dossiers

from feed_server import FeedServer, national

W1 = "20250902120000"


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_add_run_list_remove(engine, commune):
    with FeedServer() as src:
        src.first[""] = "p1"
        src.page("p1", [national(1, commune), national(2, commune)], next=f"{src.url.rsplit('/', 1)[0]}/p2")
        src.page("p2", [national(1, commune, status=9, finished="20250902100000")], watermark=W1)
        src.token = "tok-secret-987"
        added = _run("sources", "add", "dvc-tinh", "--url", src.url, "--every", "5m", "--token-stdin",
                     input="tok-secret-987\n")
        assert added.exit_code == 0, added.output
        assert "tok-secret" not in added.output

        ran = _run("sources", "run", "dvc-tinh", "--format", "json")
        assert ran.exit_code == 0, ran.output
        assert json.loads(ran.output) == {"pages": 2, "read": 3, "inserted": 2, "updated": 1, "unchanged": 0,
                                          "rejected": 0, "watermark": W1}
        assert {r[2] for r in src.requests} == {"Bearer tok-secret-987"}

        listed = _run("sources", "list", "--format", "json")
        assert listed.exit_code == 0 and "tok-secret" not in listed.output
        [row] = json.loads(listed.output)
        assert (row["name"], row["every"], row["watermark"], row["token"], row["last_error"]) == (
            "dvc-tinh", "5m", W1, "sealed", None)
        assert row["totals"] == {"pages": 2, "read": 3, "inserted": 2, "updated": 1, "unchanged": 0, "rejected": 0}
        assert row["last_success_at"] and row["lag_minutes"] is not None and row["freshness"] == "red"
        table = _run("sources", "list")
        assert table.exit_code == 0 and "dvc-tinh" in table.output

        # A failure: exit status 1, one line, kept for the list.
        src.token = "another"
        failed = subprocess.run([sys.executable, "-m", "chiso", "sources", "run", "dvc-tinh", "--format", "json"],
                                capture_output=True, text=True, timeout=120)
        assert failed.returncode == 1 and "refused the token" in failed.stderr
        assert "tok-secret" not in failed.stderr + failed.stdout
        [row] = json.loads(_run("sources", "list", "--format", "json").output)
        assert "refused the token" in row["last_error"] and row["watermark"] == W1

        removed = _run("sources", "remove", "dvc-tinh")
        assert removed.exit_code == 0
        assert json.loads(_run("sources", "list", "--format", "json").output) == []


def test_a_page_of_the_feed_can_be_pushed_instead(engine, store, commune):
    body = json.dumps({"items": [national(7, commune), national(8, commune, TrangThaiHoSo=10,
                                                                  NgayKetThucXuLy="20250903090000")],
                       "next": None, "watermark": W1}).encode()
    with db.transaction(engine) as session:
        summary = dossiers.import_records(session, store, actor=command_line(), kind="dossiers", source="push",
                                          upload=dossiers.Upload(body=body, media_type="application/json"))
    assert (summary.read, summary.inserted, summary.rejected) == (2, 2, 0)
    con = store.connect()
    try:
        assert con.execute("SELECT dossier_id, status, channel FROM dossiers ORDER BY 1").fetchall() == [
            ("H68-7", "received", "online"), ("H68-8", "returned", "online")]
    finally:
        con.close()
