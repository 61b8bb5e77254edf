"""API tokens (shown once, stored hashed, scope-limited, revocable, expiring, never beyond
their user's units) and the audit trail (who, through what, from where, before and after;
append-only in the database itself; read within one's scope)."""

from __future__ import annotations

from chiso.auth.permissions import command_line
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.web.conftest import TASK_A, TASK_B, UNIT_A, UNIT_B, bearer, dossier, login


def _token(world, user: str, **kw) -> tuple[str, int]:
    from chiso import db
    from chiso.auth import service as auth

    with db.transaction(world.engine) as session:
        secret, row = auth.create_token(session, actor=command_line(), user=user, **kw)
        return secret, row.id


def _h(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_tokens_are_stored_hashed_only(world):
    import hashlib

    secret, token_id = _token(world, "editor_a", name="hash-check")
    with world.engine.connect() as conn:
        rows = [tuple(str(v) for v in r) for r in conn.execute(text("select * from api_tokens"))]
        row = conn.execute(text("select token_hash, prefix from api_tokens where id = :i"), {"i": token_id}).one()
    assert not any(secret in v for r in rows for v in r)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret.startswith(row.prefix)


def test_a_read_only_token_cannot_upload(client, world):
    rows = [dossier("ro-1", UNIT_A)]
    r = client.post("/api/v1/dossiers?source=read-only", json=rows, headers=bearer(world, "editor_a_read"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/me", headers=bearer(world, "editor_a_read")).json()["token_scopes"] == ["read"]
    assert client.post(f"/api/v1/tasks/{TASK_A}/progress", data={"percent": "5"},
                       headers=bearer(world, "editor_a_read")).status_code == 403


def test_a_dossier_scoped_token_does_only_dossiers(client, world):
    secret, _id = _token(world, "editor_a", scopes=["dossiers:write"])
    assert client.post("/api/v1/dossiers?source=scoped-token", json=[dossier("sc-1", UNIT_A)], headers=_h(secret)).status_code == 200
    assert client.get("/api/v1/units", headers=_h(secret)).status_code == 403


def test_revoked_expired_and_malformed_tokens_get_401(client, world):
    secret, token_id = _token(world, "editor_a")
    assert client.get("/api/v1/me", headers=_h(secret)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=_h(secret)).status_code == 200
    r = client.get("/api/v1/me", headers=_h(secret))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated" and r.headers["www-authenticate"] == "Bearer"
    old, old_id = _token(world, "editor_a", days=1)
    with world.engine.begin() as conn:
        conn.execute(text("update api_tokens set expires_at = :t where id = :i"),
                     {"t": datetime.now(timezone.utc) - timedelta(minutes=1), "i": old_id})
    assert client.get("/api/v1/me", headers=_h(old)).status_code == 401
    for header in ("Bearer ", "Bearer chiso_nope", "Basic YWRtaW46YWRtaW4=", "Bearer " + "x" * 5000):
        assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401


def test_a_token_never_goes_beyond_its_users_units(client, world):
    h = bearer(world, "editor_a")
    assert client.get(f"/api/v1/units/{UNIT_B}", headers=h).status_code == 404
    assert client.get(f"/api/v1/tasks/{TASK_B}", headers=h).status_code == 404
    codes = {u["code"] for u in client.get("/api/v1/units?limit=1000", headers=h).json()}
    assert UNIT_A in codes and UNIT_B not in codes
    r = client.post("/api/v1/dossiers?source=beyond", json=[dossier("beyond", UNIT_B)], headers=h)
    assert r.json()["rejected"] == 1
    r = client.put("/api/v1/targets/values", json={"indicator": "web.manual", "unit": UNIT_B, "period": "2026", "value": 1},
                   headers=h)
    assert r.status_code == 404


def test_tokens_cli_of_another_user_cannot_be_revoked_by_an_editor(client, world):
    _secret, token_id = _token(world, "editor_b")
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(world, "editor_a")).status_code == 404
    ids = {t["id"] for t in client.get("/api/v1/tokens", headers=bearer(world, "editor_a")).json()}
    assert token_id not in ids


# --------------------------------------------------------------------------- audit


def test_writes_are_audited_with_who_how_where_before_and_after(client, world):
    h = bearer(world, "editor_a")
    r = client.post(f"/api/v1/tasks/{TASK_A}/progress", data={"percent": "55", "note": "kiểm toán"}, headers=h)
    assert r.status_code == 200
    entry = client.get("/api/v1/audit?action=task.progress&limit=1", headers=h).json()[0]
    assert entry["actor"] == "editor_a" and entry["via"] == "api" and entry["unit"] == UNIT_A
    assert entry["token"] and world.tokens["editor_a"].startswith(entry["token"])
    assert entry["address"] and entry["object_key"] == TASK_A
    assert entry["after"]["reported"] == 55 and entry["after"]["note"] == "kiểm toán"
    assert "progress" in entry["before"]
    r = client.put("/api/v1/targets/values", json={"indicator": "web.audit", "unit": UNIT_A, "period": "2026", "value": 1},
                   headers=h)
    r = client.put("/api/v1/targets/values", json={"indicator": "web.audit", "unit": UNIT_A, "period": "2026", "value": 2},
                   headers=h)
    entry = client.get("/api/v1/audit?action=indicator.set&limit=1", headers=h).json()[0]
    assert (entry["before"]["value"], entry["after"]["value"]) == (1.0, 2.0)
    r = client.post("/api/v1/dossiers?source=audit", json=[dossier("aud-1", UNIT_A)], headers=h)
    entry = client.get("/api/v1/audit?action=dossiers.import&limit=1", headers=h).json()[0]
    assert entry["after"]["read"] == 1 and entry["object_key"] == "audit"


def test_the_database_itself_refuses_to_change_the_audit_log(world):
    with world.engine.connect() as conn:
        first = conn.execute(text("select min(id) from audit_log")).scalar()
    assert first
    for sql in ("update audit_log set actor = 'someone else' where id = :i", "delete from audit_log where id = :i",
                "update audit_log set after = null"):
        # The refusal comes from a trigger or a rule: its exception class differs per database.
        with pytest.raises(Exception):  # noqa: B017
            with world.engine.begin() as conn:
                conn.execute(text(sql), {"i": first})
    with world.engine.connect() as conn:
        assert conn.execute(text("select count(*) from audit_log where id = :i"), {"i": first}).scalar() == 1


def test_truncate_cannot_empty_the_append_only_logs(world):
    """Issue 18: on PostgreSQL TRUNCATE fires no row trigger, so it emptied the audit log.
    SQLite has no TRUNCATE: its way to empty a table, a DELETE without WHERE, is refused."""
    empty = "truncate {} cascade" if world.engine.dialect.name == "postgresql" else "delete from {}"
    with world.engine.connect() as conn:
        before = conn.execute(text("select count(*) from audit_log")).scalar()
    assert before
    for table in ("audit_log", "assessment_events"):
        with pytest.raises(Exception, match="append-only"):
            with world.engine.begin() as conn:
                conn.execute(text(empty.format(table)))
    with world.engine.connect() as conn:
        assert conn.execute(text("select count(*) from audit_log")).scalar() >= before


def test_the_orm_refuses_too(world):
    from chiso import db
    from chiso.audit.models import AuditEntry

    with pytest.raises(RuntimeError):
        with db.transaction(world.engine) as session:
            e = session.scalars(__import__("sqlalchemy").select(AuditEntry).limit(1)).one()
            e.actor = "forged"


def test_audit_reading_is_scoped(client, world):
    client.post(f"/api/v1/tasks/{TASK_B}/progress", data={"percent": "10"}, headers=bearer(world, "editor_b"))
    seen_a = client.get("/api/v1/audit?limit=1000", headers=bearer(world, "editor_a")).json()
    assert seen_a and all(e["unit"] in (UNIT_A, None) or e["actor"] == "editor_a" for e in seen_a)
    assert not any(e["unit"] == UNIT_B for e in seen_a)
    assert client.get(f"/api/v1/audit?unit={UNIT_B}", headers=bearer(world, "editor_a")).status_code == 404
    everything = client.get("/api/v1/audit?limit=1000", headers=bearer(world, "admin")).json()
    assert any(e["unit"] == UNIT_B for e in everything)


def test_the_audit_page_renders(client, world):
    login(client, "editor_a")
    r = client.get("/audit")
    assert r.status_code == 200 and "task.progress" in r.text and UNIT_B not in r.text
    r = client.get("/audit?action=nothing-like-this")
    assert r.status_code == 200
