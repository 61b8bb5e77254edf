"""Technical deductions through the API and the unit page: entered and withdrawn by
province-wide managers, read in scope, the score and the page following at once."""

from __future__ import annotations

from tests.web.conftest import UNIT_A, bearer, csrf_of, login
from tests.web.permission_table import PDF

PERIOD = "2026-11"


def _total(client, world) -> tuple[float, float, list]:
    [row] = client.get(f"/api/v1/index/766?period={PERIOD}&unit={UNIT_A}", headers=bearer(world, "admin")).json()
    return row["total"], row["computed_total"], row["adjustments"]


def test_adjustments_through_the_api(client, world):
    admin, editor_a, editor_b = bearer(world, "admin"), bearer(world, "editor_a"), bearer(world, "editor_b")
    total, _computed, _adj = _total(client, world)
    form = {"unit": UNIT_A, "period": PERIOD, "indicator": "2.1", "points": "-1.25", "reason": "Đồng bộ chậm"}
    assert client.post("/api/v1/adjustments", data=form, headers=editor_a).status_code == 403
    r = client.post("/api/v1/adjustments", data=form, headers=admin)
    assert r.status_code == 200, r.text
    added = r.json()
    assert (added["unit"], added["indicator"], added["points"], added["withdrawn"]) == (UNIT_A, "2.1", -1.25, False)
    try:
        now, computed, adjustments = _total(client, world)
        assert abs(now - (total - 1.25)) < 1e-9 and abs(computed - total) < 1e-9
        assert [a["id"] for a in adjustments] == [added["id"]]
        mine = client.get(f"/api/v1/adjustments?unit={UNIT_A}&period={PERIOD}", headers=editor_a).json()
        assert added["id"] in [a["id"] for a in mine]
        assert added["id"] not in [a["id"] for a in client.get("/api/v1/adjustments", headers=editor_b).json()]
        url = f"/api/v1/adjustments/{added['id']}/withdraw"
        assert client.post(url, json={"reason": "x"}, headers=editor_b).status_code == 404
        assert client.post(url, json={"reason": "x"}, headers=editor_a).status_code == 403
        assert client.post("/api/v1/adjustments/987654/withdraw", json={"reason": "x"}, headers=admin).status_code == 404
        bad = dict(form, points="0")
        assert client.post("/api/v1/adjustments", data=bad, headers=admin).status_code == 400
    finally:
        r = client.post(f"/api/v1/adjustments/{added['id']}/withdraw", json={"reason": "Nhập nhầm"}, headers=admin)
    assert r.status_code == 200 and r.json()["withdrawn"] and r.json()["withdraw_reason"] == "Nhập nhầm"
    assert _total(client, world)[0] == total
    listed = client.get(f"/api/v1/adjustments?unit={UNIT_A}", headers=admin).json()
    assert any(a["id"] == added["id"] and a["withdrawn"] for a in listed)
    assert all(a["id"] != added["id"] for a in client.get("/api/v1/adjustments?in_force=true", headers=admin).json())


def test_a_deduction_from_the_unit_page(client, world):
    csrf = login(client, "admin")
    page = client.get(f"/766/{UNIT_A}?period={PERIOD}")
    assert page.status_code == 200 and 'data-testid="adjustment-form"' in page.text
    r = client.post(f"/766/{UNIT_A}/adjustments",
                    data={"csrf": csrf, "period": PERIOD, "concerns": "group:TDGQ", "points": "-0,75",
                          "reason": "Thiếu biên bản kiểm tra"},
                    files={"file": ("bien-ban-kiem-tra.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303 and "saved=added" in r.headers["location"]
    page = client.get(f"/766/{UNIT_A}?period={PERIOD}").text
    assert "Thiếu biên bản kiểm tra" in page and 'data-testid="computed-total"' in page
    listed = client.get(f"/api/v1/adjustments?unit={UNIT_A}&period={PERIOD}&in_force=true",
                        headers=bearer(world, "admin")).json()
    [adjustment_id] = [str(a["id"]) for a in listed if a["reason"] == "Thiếu biên bản kiểm tra"]
    assert f'data-adjustment="{adjustment_id}"' in page
    evidence = client.get(f"/766/{UNIT_A}/adjustments/{adjustment_id}/evidence")
    assert evidence.status_code == 200 and evidence.content == PDF
    # A unit's editor reads the deduction on its page, and can neither enter nor withdraw one.
    editor = type(client)(client.app, base_url="http://testserver")
    with editor:
        editor_csrf = login(editor, "editor_a")
        seen = editor.get(f"/766/{UNIT_A}?period={PERIOD}").text
        assert "Thiếu biên bản kiểm tra" in seen and 'data-testid="adjustment-form"' not in seen
        refused = editor.post(f"/766/{UNIT_A}/adjustments/{adjustment_id}/withdraw",
                              data={"csrf": editor_csrf, "period": PERIOD, "reason": "không"}, follow_redirects=False)
        assert refused.status_code == 403
    r = client.post(f"/766/{UNIT_A}/adjustments/{adjustment_id}/withdraw",
                    data={"csrf": csrf_of(page), "period": PERIOD, "reason": "Đã bổ sung biên bản"},
                    follow_redirects=False)
    assert r.status_code == 303 and "saved=withdrawn" in r.headers["location"]
    page = client.get(f"/766/{UNIT_A}?period={PERIOD}").text
    assert "Đã bổ sung biên bản" in page and 'data-testid="computed-total"' not in page
    # Bad input comes back as a message on the page, nothing entered.
    r = client.post(f"/766/{UNIT_A}/adjustments", data={"csrf": csrf, "period": PERIOD, "concerns": "2.1",
                                                        "points": "nhiều", "reason": "x"}, follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]
