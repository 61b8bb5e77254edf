"""The application starts on both stores and answers its health check and login page."""

from tests.web.conftest import UNIT_A, UNIT_B, bearer, dossier, login


def test_health_names_version_and_storage(client, world):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["version"]
    assert body["storage"]["database"] == world.engine.dialect.name


def test_editor_uploads_for_own_commune_and_is_refused_for_another(client, world):
    rows = [dossier("smoke-a", UNIT_A), dossier("smoke-b", UNIT_B)]
    r = client.post("/api/v1/dossiers?source=smoke", json=rows, headers=bearer(world, "editor_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["read"], body["rejected"]) == (2, 1)
    assert body["rejects"][0]["line"] == 2 and UNIT_B in body["rejects"][0]["reason"]


def test_login_sets_an_httponly_cookie_and_shows_the_overview(client):
    login(client, "admin")
    r = client.get("/")
    assert r.status_code == 200
    assert "admin" in r.text
