"""The permission matrix: every route of the application, four actors (anonymous, editor of
commune B, editor of commune A, province administrator), the status each must get, and on
every reading route the check that one commune's editor never sees the other's data.

The entries are in ``permission_table.py``; a route without one fails here."""

from __future__ import annotations

from chiso.auth.permissions import command_line
import re

import pytest

from tests.web.conftest import (PASSWORD, PUBLISHED, ROUND, TARGET_A, TARGET_B, TASK_A, TASK_A_SPARE, TASK_B, UNIT_A,
                                UNIT_B, csrf_of, login)
from tests.web.permission_table import ENTRIES, Entry

#: Published for everyone: the other commune's published results are no secret.
PUBLIC_PATHS = ("/static", "/api/v1/openapi", "/api/v1/public", "/public")
ACTORS = ("anonymous", "editor_b", "editor_a", "admin")
MIRROR = {"{A}": "{B}", "{TASK_A}": "{TASK_B}", "{TARGET_A}": "{TARGET_B}"}
#: What the other commune's editor must never read.
FOREIGN = {"editor_a": (UNIT_B, TASK_B, TARGET_B), "editor_b": (UNIT_A, TASK_A, TARGET_A)}


def _routes(app) -> set[tuple[str, str]]:
    from chiso.web.templating import app_routes

    out = set()
    for r in app_routes(app):
        methods = getattr(r, "methods", None) or {"GET"}  # a mount (static files) answers GET
        for m in methods - {"HEAD"}:
            out.add((m, r.path))
    return out


def test_every_route_has_an_entry(app):
    declared = {(e.method, e.path) for e in ENTRIES}
    routes = _routes(app)
    missing = sorted(routes - declared)
    assert not missing, f"routes without an entry in tests/web/permission_table.py: {missing}"
    stale = sorted(declared - routes)
    assert not stale, f"entries for routes that no longer exist: {stale}"


class Actors:
    """One client per actor, each from its own address (failed logins of the matrix must
    not throttle other tests)."""

    def __init__(self, app, world):
        from fastapi.testclient import TestClient

        from chiso import db
        from chiso.auth import service as auth

        self.world = world
        self.clients, self.csrf = {}, {}
        for i, name in enumerate(ACTORS):
            c = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                           client=(f"10.77.0.{i + 1}", 40000))
            c.__enter__()
            self.clients[name] = c
            self.csrf[name] = csrf_of(c.get("/login").text) if name == "anonymous" else login(c, name)
        with db.transaction(world.engine) as session:
            _secret, row = auth.create_token(session, actor=command_line(), user="editor_a", name="matrix")
            if "matrix-victim" not in {u["name"] for u in auth.list_users(session, actor=command_line())}:
                auth.add_user(session, actor=command_line(), name="matrix-victim", role="viewer", unit=UNIT_A, password=PASSWORD)
            self.values = {"{A}": UNIT_A, "{B}": UNIT_B, "{ROUND}": ROUND, "{PUBLISHED}": PUBLISHED,
                           "{TASK_A}": TASK_A, "{TASK_B}": TASK_B, "{TASK_SPARE}": TASK_A_SPARE, "{TARGET_A}": TARGET_A, "{TARGET_B}": TARGET_B,
                           "{TOKEN_A}": str(row.id), "{VICTIM}": "matrix-victim"}

    def fill(self, value):
        if isinstance(value, str):
            for k, v in self.values.items():
                value = value.replace(k, v)
            return value
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value

    def call(self, actor: str, e: Entry, url: str):
        c = self.clients[actor]
        headers = dict(e.headers)
        if e.method != "GET" and not (actor == "anonymous" and url.startswith("/api/")):
            headers["X-CSRF-Token"] = self.csrf[actor]
        files = {k: v for k, v in (e.files or {}).items()}
        return c.request(e.method, self.fill(url), headers=headers, json=self.fill(e.json) if e.json is not None else None,
                         data=self.fill(e.form) if e.form else None, files=files or None, content=e.content)

    def close(self):
        for c in self.clients.values():
            c.__exit__(None, None, None)


@pytest.fixture(scope="module")
def actors(app, world):
    a = Actors(app, world)
    yield a
    a.close()


def _ok(status: int, expected) -> bool:
    return status in (expected if isinstance(expected, tuple) else (expected,))


def _check(actors: Actors, e: Entry, url: str, expect) -> list[str]:
    problems = []
    for actor, wanted in zip(ACTORS, expect):
        r = actors.call(actor, e, url)
        if not _ok(r.status_code, wanted):
            problems.append(f"{actor}: {e.method} {actors.fill(url)} → {r.status_code}, expected {wanted}: {r.text[:200]}")
            continue
        if r.status_code == 303 and actor == "anonymous" and wanted == 303 and e.path not in ("/lang/{code}", "/logout"):
            if not r.headers["location"].startswith("/login"):
                problems.append(f"anonymous: {url} redirects to {r.headers['location']}, not the login form")
        if e.method == "GET" and r.status_code == 200 and actor in FOREIGN and not e.path.startswith(PUBLIC_PATHS):
            leaked = [m for m in FOREIGN[actor] if re.search(rf"(?<![0-9A-Za-z-]){re.escape(m)}(?![0-9A-Za-z-])", r.text)]
            if leaked:
                problems.append(f"{actor}: {url} shows the other commune's {leaked}")
        if r.status_code == 404 and actor.startswith("editor") and r.headers.get("content-type", "").startswith("application/json"):
            assert r.json()["error"]["code"] == "not_found"
    return problems


def test_routes_the_matrix_cannot_call_are_tested_where_it_says():
    """Entries with ``skip`` are not called here (a stream that never ends, the logout);
    each names the test that covers it, and that test exists."""
    root = __import__("pathlib").Path(__file__).parent
    for e in ENTRIES:
        if e.skip:
            where = re.search(r"(test_\w+\.py)(?:::(\w+))?", e.skip)
            assert where, f"{e.method} {e.path}: say which test covers it"
            text = (root / where.group(1)).read_text(encoding="utf-8") if (root / where.group(1)).exists() else ""
            assert text and (not where.group(2) or f"def {where.group(2)}(" in text), e.skip


@pytest.mark.parametrize("entry", [e for e in ENTRIES if not e.skip], ids=lambda e: f"{e.method} {e.url}")
def test_permission_matrix(actors, entry: Entry):
    problems = _check(actors, entry, entry.url, entry.expect)
    if entry.mirror:
        url = entry.url
        for a, b in MIRROR.items():
            url = url.replace(a, b)
        anon, eb, ea, admin = entry.expect
        problems += _check(actors, entry, url, (anon, ea, eb, admin))
    assert not problems, "\n".join(problems)


def test_unknown_objects_answer_like_objects_out_of_scope(actors):
    """Editor A gets the same 404 and message for B's task as for a task that does not exist."""
    c = actors.clients["editor_a"]
    for known, unknown in ((f"/api/v1/tasks/{TASK_B}", "/api/v1/tasks/NO-SUCH"),
                           (f"/api/v1/units/{UNIT_B}", "/api/v1/units/99999999"),
                           (f"/api/v1/targets/{TARGET_B}", "/api/v1/targets/NO-SUCH"),
                           (f"/api/v1/assessments/rounds/{ROUND}/units/{UNIT_B}",
                            f"/api/v1/assessments/rounds/{ROUND}/units/99999999")):
        a, b = c.get(known), c.get(unknown)
        assert a.status_code == b.status_code == 404
        assert a.json()["error"]["message"].replace(known.rsplit("/", 1)[1], "X") == \
            b.json()["error"]["message"].replace(unknown.rsplit("/", 1)[1], "X")


def test_logout_route(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False, follow_redirects=False, client=("10.77.0.9", 1)) as c:
        r = c.post("/logout", data={"csrf": csrf_of(c.get("/login").text)})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        token = login(c, "editor_a")
        r = c.post("/logout", data={"csrf": token})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert c.get("/account").status_code == 303


# --------------------------------------------------------------------------- scoped tokens as actors

#: API routes that are open to everyone or describe the API: no token scope applies.
_OPEN_API = ("/api/v1/public", "/api/v1/openapi")
#: Managing tokens needs the ``admin`` scope when a token is limited at all.
_TOKEN_ROUTES = ("/api/v1/tokens",)
#: Any valid token may ask whom it acts for and with which scopes.
_WHO_AM_I = "/api/v1/me"


def _api_entries() -> list[Entry]:
    return [e for e in ENTRIES if not e.skip and e.path.startswith("/api/v1/") and not e.path.startswith(_OPEN_API)]


@pytest.fixture(scope="module")
def scoped(app, world):
    """Two limited tokens: the administrator's for uploads only, editor A's for reading only."""
    from fastapi.testclient import TestClient

    from chiso import db
    from chiso.auth import service as auth

    with db.transaction(world.engine) as session:
        upload, _row = auth.create_token(session, actor=command_line(), user="admin", scopes=["dossiers:write"], name="matrix-upload")
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False, client=("10.77.0.20", 1)) as c:
        yield c, {"admin_upload": upload, "editor_a_read": world.tokens["editor_a_read"]}


def _call_with_token(actors: Actors, client, secret: str, e: Entry):
    return client.request(e.method, actors.fill(e.url), headers={**e.headers, "Authorization": f"Bearer {secret}"},
                          json=actors.fill(e.json) if e.json is not None else None,
                          data=actors.fill(e.form) if e.form else None, files=e.files or None, content=e.content)


def test_a_token_limited_to_uploads_does_nothing_else(actors, scoped):
    """The administrator's upload token reads nothing, changes nothing but dossiers, and
    neither lists nor revokes anyone's tokens (the attack of issue 18: it did both)."""
    client, secrets = scoped
    problems = []
    for e in _api_entries():
        r = _call_with_token(actors, client, secrets["admin_upload"], e)
        wanted = e.expect[3] if (e.path == "/api/v1/dossiers" and e.method == "POST") or e.path == _WHO_AM_I else 403
        if not _ok(r.status_code, wanted):
            problems.append(f"{e.method} {actors.fill(e.url)} → {r.status_code}, expected {wanted}: {r.text[:200]}")
    assert not problems, "\n".join(problems)


def test_a_read_only_token_reads_as_its_account_and_writes_nothing(actors, scoped):
    client, secrets = scoped
    problems = []
    for e in _api_entries():
        r = _call_with_token(actors, client, secrets["editor_a_read"], e)
        as_account = e.expect[2]
        if e.method == "GET" and not e.path.startswith(_TOKEN_ROUTES):
            wanted = as_account
        elif _ok(404, as_account) or _ok(403, as_account):
            wanted = as_account
        else:
            wanted = 403
        if not _ok(r.status_code, wanted):
            problems.append(f"{e.method} {actors.fill(e.url)} → {r.status_code}, expected {wanted}: {r.text[:200]}")
    assert not problems, "\n".join(problems)


def test_a_limited_token_may_not_list_or_revoke_tokens(actors, scoped, world):
    from chiso import db
    from chiso.auth import service as auth

    client, secrets = scoped
    with db.transaction(world.engine) as session:
        _secret, victim = auth.create_token(session, actor=command_line(), user="editor_b", name="matrix-victim-token")
        victim_id = victim.id
    headers = {"Authorization": f"Bearer {secrets['admin_upload']}"}
    r = client.get("/api/v1/tokens", headers=headers)
    assert r.status_code == 403 and "matrix-victim-token" not in r.text
    message = r.json()["error"]["message"]
    assert message and "\n" not in message
    assert client.delete(f"/api/v1/tokens/{victim_id}", headers=headers).status_code == 403
    with db.transaction(world.engine) as session:
        assert [t for t in auth.list_tokens(session, actor=command_line(), user="editor_b") if t["id"] == victim_id][0]["revoked"] is False
    # The same administrator's full token still manages them.
    full = {"Authorization": f"Bearer {world.tokens['admin']}"}
    assert client.get("/api/v1/tokens", headers=full).status_code == 200
