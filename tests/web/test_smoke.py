"""The application starts on both stores and answers its health check and login page."""

from tests.web.conftest import UNIT_A, UNIT_B, bearer, dossier, login


def test_health_tells_the_public_only_the_status(client, world):
    """Issue 18: without a login, /healthz showed the database user, host, name and path."""
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    for secret in (world.engine.url.username, world.engine.url.host, world.engine.url.database, str(world.data_dir)):
        if secret:
            assert secret not in r.text
    for name in ("editor_a", "steering"):
        assert client.get("/healthz", headers=bearer(world, name)).json() == {"status": "ok"}


def test_health_names_version_and_storage_to_an_administrator(client, world):
    body = client.get("/healthz", headers=bearer(world, "admin")).json()
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


def test_every_route_commits_before_it_answers(app):
    """The request's transaction ends before the response is sent (scope "function"), so a
    client told "saved" finds it saved on its next request and a failed commit is an error."""
    from chiso.http.deps import get_db

    def walk(dependant, path):
        for sub in dependant.dependencies:
            if sub.call is get_db:
                assert sub.scope == "function", path
            walk(sub, path)

    def routes_of(container):
        for r in container.routes:
            if getattr(r, "dependant", None) is not None:
                yield r
            elif hasattr(r, "original_router"):  # an included router (FastAPI ≥ 0.150)
                yield from routes_of(r.original_router)
            elif hasattr(r, "routes"):  # a mounted application or router
                yield from routes_of(r)
            elif hasattr(getattr(r, "app", None), "routes"):
                yield from routes_of(r.app)

    routes = list(routes_of(app))
    assert len(routes) > 50
    found = 0
    for route in routes:
        walk(route.dependant, route.path)
        found += "get_db" in repr(route.dependant)
    assert found > 30


def test_pages_speak_the_stores_language_whatever_the_browser_says(client):
    """Issue 14: every page in lang="vi" by default, even for a browser set to English; the
    reader's own choice (the language link, a cookie) wins; the API honours Accept-Language."""
    r = client.get("/login", headers={"accept-language": "en-GB,en;q=0.9"})
    assert r.status_code == 200 and '<html lang="vi"' in r.text
    r = client.get("/login?lang=en", headers={"accept-language": "vi"})
    assert '<html lang="en"' in r.text
    r = client.get("/api/v1/units/NOPE", headers={"accept-language": "en"})
    assert r.status_code in (401, 404) and r.json()["error"]["message"].isascii()
