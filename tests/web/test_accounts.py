"""Accounts in the browser: throttled logins, logout here and everywhere, password changes
that end the other sessions, administrator resets, deactivation, CSRF, cookie flags, and
no open redirect."""

from __future__ import annotations

from chiso.auth.permissions import command_line
import itertools

import pytest

from tests.web.conftest import PASSWORD, UNIT_A, csrf_of, dossier, login

_address = itertools.count(1)


def browser(app, **kw):
    """A browser from an address of its own (throttling counts per address)."""
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                      client=(f"10.88.{next(_address) // 250}.{next(_address) % 250 + 1}", 1), **kw)


def _user(world, name: str, role: str = "viewer", must_change: bool = False) -> str:
    from chiso import db
    from chiso.auth import service as auth

    with db.transaction(world.engine) as session:
        if name not in {u["name"] for u in auth.list_users(session, actor=command_line())}:
            auth.add_user(session, actor=command_line(), name=name, role=role, unit=UNIT_A, password=PASSWORD, must_change_password=must_change)
    return name


def _try(c, name: str, password: str):
    page = c.get("/login")
    return c.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text), "next": "/account"})


def test_wrong_passwords_from_anyone_never_lock_the_owner_out(app, world):
    """Issue 18: five wrong passwords from anywhere used to lock any account, the
    administrator's included, for everyone. Now the owner, from their own address, gets in."""
    name = _user(world, "throttle-acct", role="admin")
    for i in range(12):
        with browser(app) as c:
            assert _try(c, name, f"wrong-password-{i}").status_code == 401
    with browser(app) as c:
        assert _try(c, name, PASSWORD).status_code == 303


def test_guessing_from_one_address_waits_longer_each_time(app, world):
    from datetime import timedelta

    from chiso import db
    from chiso.auth.models import LoginAttempt

    name = _user(world, "throttle-pair")
    with browser(app) as c:
        for i in range(5):
            assert _try(c, name, f"wrong-password-{i}").status_code == 401
        r = _try(c, name, PASSWORD)  # even the right password waits its turn from here
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 2
        # Backdate the failures so the wait has passed: the next failure doubles it.
        with db.transaction(world.engine) as session:
            for row in session.query(LoginAttempt).filter_by(name=name):
                row.at = row.at - timedelta(seconds=10)
        assert _try(c, name, "wrong-password-6").status_code == 401
        r = _try(c, name, PASSWORD)
        assert r.status_code == 429 and 3 <= int(r.headers["Retry-After"]) <= 4
    with browser(app) as other:  # the owner elsewhere is not slowed at all
        assert _try(other, name, PASSWORD).status_code == 303


def test_login_is_throttled_per_address(app, world):
    with browser(app) as c:
        for i in range(20):
            assert _try(c, f"nobody-{i}", "wrong-password").status_code == 401
        r = _try(c, _user(world, "throttle-addr"), PASSWORD)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 60
    with browser(app) as c:
        assert _try(c, "throttle-addr", PASSWORD).status_code == 303


def test_an_administrator_unlocks_an_address(app, world, capsys):
    from fastapi.testclient import TestClient

    from chiso.cli import main

    address = "10.99.0.7"
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False, client=(address, 1)) as c:
        for i in range(20):
            assert _try(c, f"nobody-{i}", "wrong-password").status_code == 401
        assert _try(c, _user(world, "throttle-unlock"), PASSWORD).status_code == 429
        assert main(["users", "unlock", "--address", address]) == 0
        assert _try(c, "throttle-unlock", PASSWORD).status_code == 303
    capsys.readouterr()
    assert main(["users", "unlock"]) != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_logout_and_logout_everywhere(app, world):
    name = _user(world, "two-browsers")
    with browser(app) as one, browser(app) as two, browser(app) as three:
        t1, t2, _t3 = login(one, name), login(two, name), login(three, name)
        r = one.post("/logout", data={"csrf": t1})
        assert r.status_code == 303 and one.get("/account").status_code == 303
        assert two.get("/account").status_code == 200
        assert two.post("/logout", data={"csrf": t2, "everywhere": "true"}).status_code == 303
        assert two.get("/account").status_code == 303 and three.get("/account").status_code == 303


def test_changing_the_password_ends_the_other_sessions(app, world):
    name = _user(world, "changer")
    with browser(app) as one, browser(app) as two:
        token = login(one, name)
        login(two, name)
        r = one.post("/account/password", data={"csrf": token, "current": PASSWORD, "new": "mật-khẩu-mới-12345",
                                                "again": "mật-khẩu-mới-12345"})
        assert r.status_code == 303
        assert one.get("/account").status_code == 200
        assert two.get("/account").status_code == 303
        r = one.post("/account/password", data={"csrf": csrf_of(one.get("/account/password").text), "current": "wrong",
                                                "new": "x" * 12, "again": "x" * 12})
        assert r.status_code == 400


def test_an_administrator_reset_forces_a_new_password_at_next_login(app, world):
    name = _user(world, "reset-me")
    with browser(app) as admin, browser(app) as user:
        token = login(admin, "admin")
        assert admin.post(f"/admin/users/{name}/reset", data={"csrf": token, "password": "đặt-lại-bởi-admin-1"}).status_code == 303
        page = user.get("/login")
        r = user.post("/login", data={"name": name, "password": "đặt-lại-bởi-admin-1", "csrf": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/account/password"
        assert user.get("/audit").headers["location"] == "/account/password"
        form = user.get("/account/password")
        assert form.status_code == 200
        r = user.post("/account/password", data={"csrf": csrf_of(form.text), "current": "đặt-lại-bởi-admin-1",
                                                  "new": "của-riêng-tôi-123", "again": "của-riêng-tôi-123"})
        assert r.status_code == 303 and user.get("/audit").status_code == 200


def test_a_deactivated_account_cannot_log_in_and_its_tokens_stop(app, world):
    from chiso import db
    from chiso.auth import service as auth

    name = _user(world, "leaver", role="editor")
    with db.transaction(world.engine) as session:
        secret, _row = auth.create_token(session, actor=command_line(), user=name)
    with browser(app) as admin, browser(app) as user:
        login(user, name)
        assert user.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        token = login(admin, "admin")
        assert admin.post(f"/admin/users/{name}/active", data={"csrf": token, "active": "false"}).status_code == 303
        assert user.get("/account").status_code == 303
        assert user.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
        assert _try(user, name, PASSWORD).status_code == 401
        r = admin.post("/admin/users/admin/active", data={"csrf": token, "active": "false"})
        assert r.status_code == 400


def test_csrf_is_required_for_forms_and_cookie_authenticated_api_calls(app, world):
    with browser(app) as c:
        token = login(c, "editor_a")
        assert c.post("/logout", data={}).status_code == 403
        assert c.post("/logout", data={"csrf": "forged"}).status_code == 403
        rows = [dossier("csrf-1", UNIT_A)]
        assert c.post("/api/v1/dossiers?source=csrf", json=rows).status_code == 403
        assert c.post("/api/v1/dossiers?source=csrf", json=rows, headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert c.post("/api/v1/dossiers?source=csrf", json=rows, headers={"X-CSRF-Token": token}).status_code == 200
    with browser(app) as c:  # the login form: a pre-login token of its own
        c.get("/login")
        r = c.post("/login", data={"name": "editor_a", "password": PASSWORD})
        assert r.status_code == 403


def test_session_cookie_flags(app, world, monkeypatch):
    from fastapi.testclient import TestClient

    def cookie_of(c):
        page = c.get("/login")
        r = c.post("/login", data={"name": "viewer_a", "password": PASSWORD, "csrf": csrf_of(page.text)},
                   headers={"X-Forwarded-Proto": "https"})
        assert r.status_code == 303
        return next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("chiso_session="))

    with TestClient(app, follow_redirects=False, client=("10.99.0.1", 1)) as c:
        cookie = cookie_of(c).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # untrusted proxy
    monkeypatch.setenv("CHISO_TRUSTED_PROXIES", "10.99.0.0/24")
    with TestClient(app, follow_redirects=False, client=("10.99.0.2", 1)) as c:
        cookie = cookie_of(c).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    with TestClient(app, follow_redirects=False, base_url="https://testserver", client=("10.98.0.1", 1)) as c:
        assert "secure" in cookie_of(c).lower()


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", " //evil.example"])
def test_no_open_redirect(app, world, target):
    with browser(app) as c:
        page = c.get("/login", params={"next": target})
        assert "evil.example" not in page.text.split('name="next"')[1][:200]
        r = c.post("/login", data={"name": "viewer_a", "password": PASSWORD, "csrf": csrf_of(page.text), "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert c.get("/login", params={"next": target}).headers["location"] == "/"
        assert c.get("/lang/en", params={"next": target}).headers["location"] == "/"
