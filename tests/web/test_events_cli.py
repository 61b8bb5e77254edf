"""Live updates over a real server (uvicorn on a free port), and the command line of the
web application: ``chiso users add``, ``chiso tokens create``, ``chiso serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx2 as httpx  # the client Starlette's TestClient uses (a declared test dependency)

from tests.mail import free_port
from tests.web.conftest import PASSWORD, PUBLISHED, UNIT_A, bearer, dossier


@contextmanager
def serving(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def _events(lines):
    """(event, data) pairs from SSE lines."""
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            yield event, json.loads(line[6:])
            event = None


def test_an_upload_reaches_open_pages_as_a_change_event(app, world):
    with serving(app) as base:
        with httpx.Client(base_url=base, timeout=httpx.Timeout(10.0)) as c:
            with c.stream("GET", "/events", headers=bearer(world, "admin")) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                assert "default-src 'self'" in stream.headers["content-security-policy"]
                events = _events(stream.iter_lines())
                kind, hello = next(events)
                assert kind == "hello" and "dossiers" in hello and "changes" in hello and "colours" in hello
                # A deadline for a lost event (the stream would otherwise wait for ever), not a
                # speed claim: a busy machine may take a while, an event that never comes fails.
                deadline = time.monotonic() + 30
                with httpx.Client(base_url=base, timeout=10.0) as other:
                    r = other.post("/api/v1/dossiers?source=live", json=[dossier(f"live-{time.time_ns()}", UNIT_A)],
                                   headers=bearer(world, "editor_a"))
                    assert r.status_code == 200 and r.json()["inserted"] == 1
                seen_dossiers = False
                for kind, data in events:
                    if kind == "change" and data["dossiers"] > hello["dossiers"]:
                        seen_dossiers = seen_dossiers or "dossiers" in data["changed"]
                        # The import's audit entry commits just after its records: it may
                        # arrive in the same event or the next one.
                        if data["changes"] > hello["changes"]:
                            break
                    assert time.monotonic() < deadline, "no change event within 30 s"
                assert seen_dossiers
            public = c.stream("GET", "/events")
            with public as stream:  # the public is told of dossiers only, never of the audit trail
                kind, hello = next(_events(stream.iter_lines()))
                assert kind == "hello" and "changes" not in hello


def _cli(*args: str, stdin: str | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "chiso", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_users_add_and_tokens_create_on_the_command_line(world):
    from chiso import db
    from chiso.auth import service as auth

    env = {"CHISO_DATABASE_URL": world.url, "CHISO_DATA_DIR": str(world.data_dir), "CHISO_LANG": "en"}
    r = _cli("users", "add", "cli-editor", "--role", "editor", "--unit", UNIT_A, "--password-stdin",
             stdin=PASSWORD + "\n", env=env)
    assert r.returncode == 0, r.stderr
    r = _cli("users", "add", "cli-bad", "--role", "editor", "--password-stdin", stdin=PASSWORD + "\n", env=env)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    # ``users assign`` is the assessments' command, mounted in the users group: only appraisers.
    r = _cli("users", "assign", "cli-editor", "--round", PUBLISHED, env=env)
    assert r.returncode != 0 and "Only appraisers" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _cli("tokens", "create", "--user", "cli-editor", "--scope", "dossiers:write", "--scope", "read", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chiso_") and len(lines[0]) > 30
    with db.transaction(world.engine) as session:
        user = auth.get_user(session, "cli-editor")
        assert (user.role, user.unit.code) == ("editor", UNIT_A)
        token = auth.token_for(session, lines[0])
        assert token is not None and sorted(token.scopes.split()) == ["dossiers:write", "read"]
        entries = [e for e in __import__("chiso.audit.service", fromlist=["x"]).entries(session, action="token.create", limit=5)]
        assert entries[0]["via"] == "cli" and entries[0]["actor"].startswith("cli")


def test_serve_starts_and_answers_its_health_check(world, tmp_path):
    port = free_port()
    env = {**os.environ, "CHISO_DATABASE_URL": world.url, "CHISO_DATA_DIR": str(world.data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "chiso", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "chiso serve did not answer within 30 s"
                time.sleep(0.2)
        # The public learns the status only, and whether the first pages are being warmed.
        assert r.status_code == 200 and set(r.json()) == {"status", "warming"} and r.json()["status"] == "ok"
        while r.json()["warming"]:  # the warm-up of a small store ends, and says so
            assert time.monotonic() < deadline + 60, "the warm-up did not end within 90 s"
            time.sleep(0.2)
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert r.json() == {"status": "ok", "warming": False}
        assert r.headers["content-security-policy"]
        body = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5,
                         headers={"Authorization": f"Bearer {world.tokens['admin']}"}).json()
        assert body["status"] == "ok" and body["version"] and body["storage"]["database"] == world.engine.dialect.name
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_busy_port_is_one_line_before_anything_is_done(world, tmp_path):
    """`chiso serve` and `chiso demo` on a port another program holds: one line naming the
    port and the fix, a non-zero exit, no success line, and the demo store never touched."""
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = str(holder.getsockname()[1])
    try:
        env = {"CHISO_DATABASE_URL": world.url, "CHISO_DATA_DIR": str(world.data_dir), "CHISO_LANG": "en"}
        r = _cli("serve", "--host", "127.0.0.1", "--port", port, env=env)
        assert r.returncode != 0 and r.stdout == ""
        assert r.stderr.strip().splitlines() == [r.stderr.strip()] and f"127.0.0.1:{port}" in r.stderr
        assert "--port" in r.stderr
        fresh = tmp_path / "demo-data"
        r = _cli("demo", "--port", port, env={"CHISO_DATABASE_URL": "", "CHISO_DATA_DIR": str(fresh),
                                             "CHISO_LANG": "en"})
        assert r.returncode != 0 and f"127.0.0.1:{port}" in r.stderr
        assert not fresh.exists()
    finally:
        holder.close()


def test_open_pages_of_one_scope_share_one_read_of_the_store(app, world):
    """A hundred open pages of one scope cost one read per half interval, not a hundred; a
    page of another scope gets its own answer, and a change is seen once the value is old."""
    from sqlalchemy import event

    from chiso.auth.permissions import Actor
    from chiso.web.events import Pulse

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    pulse = Pulse(max_age=60.0)
    province = Actor(name="a", role="admin")
    commune = Actor(name="b", role="viewer", units=frozenset({1}))
    event.listen(world.engine, "before_cursor_execute", count)
    try:
        first = pulse.state(app, province)
        per_read = len(statements)
        assert per_read >= 2  # the audit trail and the lights, at least
        for _ in range(100):
            assert pulse.state(app, Actor(name="c", role="admin")) == first
        assert len(statements) == per_read
        assert "changes" not in pulse.state(app, Actor(name="p", role="public"))
        pulse.state(app, commune)
        assert len(statements) > per_read  # other scopes are read on their own
        pulse.max_age = 0.0  # an old value is read again
        before = len(statements)
        pulse.state(app, province)
        assert len(statements) - before == per_read
    finally:
        event.remove(world.engine, "before_cursor_execute", count)
