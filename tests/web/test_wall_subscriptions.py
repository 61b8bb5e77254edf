"""The wall screen and the subscribe button over HTTP (the browser tests drive them in
Chromium): what the wall shows each reader, offline by construction, and subscriptions
from the page, the API and within scope only."""

from __future__ import annotations

import re

from tests.web.conftest import UNIT_A, UNIT_B, bearer, csrf_of, login


def test_the_wall_is_three_screens_without_navigation_nor_outside_hosts(client):
    login(client, "admin")
    r = client.get("/wall?interval=7")
    assert r.status_code == 200
    html = r.text
    assert re.findall(r'data-wall-panel="(\w+)"', html) == ["overview", "scorecard", "map"]
    assert 'data-interval="7"' in html and 'data-refresh="60"' in html
    assert "main-nav" not in html and 'class="top"' not in html  # no menu, no header of the site
    # Every script, style and image is the server's own.
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url
    assert 'data-testid="wall-province"' in html


def test_the_wall_shows_a_commune_reader_only_their_unit(client):
    login(client, "editor_a")
    html = client.get("/wall?screens=scorecard,map").text
    assert re.findall(r'data-wall-panel="(\w+)"', html) == ["scorecard", "map"]
    assert "Xuân Hương" in html and "Mũi Né" not in html
    assert 'data-testid="wall-province"' not in html


def test_the_wall_needs_a_login(client):
    assert client.get("/wall", headers={"accept": "application/json"}).status_code == 401


def test_subscribe_from_the_page_and_unsubscribe(client):
    login(client, "viewer_a")
    page = client.get("/scorecard").text
    assert 'action="/subscribe"' in page
    r = client.post("/subscribe", data={"csrf": csrf_of(page), "kind": "page", "target": "scorecard",
                                        "frequency": "weekly", "alerts": "on", "next": "/scorecard"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/scorecard"
    page = client.get("/scorecard").text
    assert 'action="/unsubscribe"' in page and 'action="/subscribe"' not in page
    r = client.post("/unsubscribe", data={"csrf": csrf_of(page), "kind": "page", "target": "scorecard",
                                          "next": "https://evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert 'action="/subscribe"' in client.get("/scorecard").text


def test_the_form_needs_its_token(client):
    login(client, "viewer_a")
    r = client.post("/subscribe", data={"kind": "page", "target": "map"}, follow_redirects=False)
    assert r.status_code == 403


def test_the_api_subscribes_within_scope_only(client, world):
    h = bearer(world, "editor_a")
    r = client.post("/api/v1/subscriptions", json={"kind": "unit", "target": UNIT_A, "frequency": "daily"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["target"] == UNIT_A and r.json()["alerts"] is True
    # Outside the scope a unit does not exist: the same answer as an unknown code.
    outside = client.post("/api/v1/subscriptions", json={"kind": "unit", "target": UNIT_B}, headers=h)
    unknown = client.post("/api/v1/subscriptions", json={"kind": "unit", "target": "00000"}, headers=h)
    assert outside.status_code == unknown.status_code == 404
    assert client.post("/api/v1/subscriptions", json={"kind": "page", "target": "audit"}, headers=h).status_code == 400
    mine = client.get("/api/v1/subscriptions", headers=h).json()
    assert [(s["kind"], s["target"]) for s in mine] == [("unit", UNIT_A)]
    assert client.delete(f"/api/v1/subscriptions/unit/{UNIT_A}", headers=h).json()["active"] is False
    assert client.get("/api/v1/subscriptions", headers=h).json() == []
    assert client.delete(f"/api/v1/subscriptions/unit/{UNIT_A}", headers=h).status_code == 404


def test_the_unit_page_has_the_button_for_its_unit(client):
    login(client, "editor_a")
    html = client.get(f"/766/{UNIT_A}").text
    assert f'name="target" value="{UNIT_A}"' in html


def test_the_audit_trail_says_subscriptions_in_words(client, world):
    h = bearer(world, "admin")
    assert client.post("/api/v1/subscriptions", json={"kind": "page", "target": "map", "frequency": "weekly"},
                       headers=h).status_code == 200
    login(client, "admin")
    html = client.get("/audit").text
    assert "đã lưu đăng ký nhận tin" in html and "hằng tuần (thứ Hai)" in html
    assert ">subscription.save<" not in html


def test_daily_and_weekly_due_times():
    from datetime import datetime, time, timezone

    from chiso.subscriptions.deliver import latest_due

    def utc(*a):
        return datetime(*a, tzinfo=timezone.utc)

    tz, at = "Asia/Ho_Chi_Minh", time(7, 0)  # 07:00 in Vietnam is 00:00 UTC
    sunday_0730 = utc(2026, 12, 6, 0, 30)
    assert latest_due("daily", sunday_0730, tz, at) == utc(2026, 12, 6)
    assert latest_due("weekly", sunday_0730, tz, at) == utc(2026, 11, 30)
    sunday_0600 = utc(2026, 12, 5, 23, 0)
    assert latest_due("daily", sunday_0600, tz, at) == utc(2026, 12, 5)
    assert latest_due("weekly", utc(2026, 12, 7, 1, 0), tz, at) == utc(2026, 12, 7)  # Monday 08:00
    assert latest_due("weekly", utc(2026, 12, 6, 23, 30), tz, at) == utc(2026, 11, 30)  # Monday 06:30
