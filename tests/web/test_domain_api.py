"""The domain routers beyond the matrix: appraisers act only where assigned, viewers and
steering members get what their roles allow, the public reads published results only,
and a unit's self-assessment goes through the API from values to publication."""

from __future__ import annotations

from chiso.auth.permissions import command_line
from tests.web.conftest import PUBLISHED, TASK_A, UNIT_A, UNIT_B, bearer


def _token(world, user: str) -> dict[str, str]:
    from chiso import db
    from chiso.auth import service as auth

    with db.transaction(world.engine) as session:
        secret, _row = auth.create_token(session, actor=command_line(), user=user)
    return {"Authorization": f"Bearer {secret}"}


def _round(world, code: str) -> None:
    from chiso import db
    from chiso.assessments import service as rounds

    with db.transaction(world.engine) as session:
        rounds.create_round(session, code=code, method=str(world.data_dir / "web-test.yaml"), year=2027, actor=command_line("t"))
        rounds.add_units(session, round_code=code, units_groups=[(UNIT_A, "wards"), (UNIT_B, "wards")], actor=command_line("t"))


def test_the_round_through_the_api_and_the_appraiser_only_where_assigned(client, world):
    from chiso import db
    from chiso.assessments import service as rounds

    code = "WEB-FLOW"
    _round(world, code)
    base = f"/api/v1/assessments/rounds/{code}/units"
    a = bearer(world, "editor_a")
    r = client.put(f"{base}/{UNIT_A}/values", json={"values": {"work": 50, "on_time": 0.95}, "notes": {"work": "đủ"}}, headers=a)
    assert r.status_code == 200 and r.json()["status"] == "self_assessed"
    assert client.put(f"{base}/{UNIT_A}/values", json={"values": {"work": "many"}}, headers=a).status_code == 422
    assert client.put(f"{base}/{UNIT_A}/values", json={"values": {"on_time": 95}}, headers=a).status_code == 400
    assert client.put(f"{base}/{UNIT_A}/values", json={"values": {"nope": 1}}, headers=a).status_code == 400
    assert client.post(f"{base}/{UNIT_A}/submit", headers=a).status_code == 200
    appraiser = _token(world, "appraiser")
    values = {"values": {"work": 45}, "comments": {"work": "thiếu một biên bản"}}
    assert client.put(f"{base}/{UNIT_A}/appraisal", json=values, headers=appraiser).status_code == 403
    with db.transaction(world.engine) as session:
        rounds.assign_appraiser(session, user="appraiser", round_code=code, unit=UNIT_A, actor=command_line())
    appraiser = _token(world, "appraiser")  # assignments are read when the token is used
    r = client.put(f"{base}/{UNIT_A}/appraisal", json=values, headers=appraiser)
    assert r.status_code == 200 and r.json()["leaves"]["work"]["appraised_value"] == 45
    assert client.put(f"{base}/{UNIT_B}/appraisal", json=values, headers=appraiser).status_code == 403
    steering = _token(world, "steering")
    assert client.post(f"/api/v1/assessments/rounds/{code}/approve", json={"unit": UNIT_A}, headers=a).status_code == 403
    r = client.post(f"/api/v1/assessments/rounds/{code}/approve", json={"unit": UNIT_A}, headers=steering)
    assert r.status_code == 200 and r.json() == [{"unit": UNIT_A, "status": "approved"}]
    assert client.put(f"{base}/{UNIT_A}/values", json={"values": {"work": 60}}, headers=a).status_code == 400
    assert client.get(f"/api/v1/public/rounds/{code}/results").status_code == 404
    assert client.post(f"/api/v1/assessments/rounds/{code}/publish", json={"unit": UNIT_A}, headers=steering).status_code == 200
    rows = client.get(f"/api/v1/public/rounds/{code}/results").json()
    assert [r["unit"] for r in rows] == [UNIT_A] and rows[0]["total_points"] == 45 + 0.95 * 40
    mine = client.get(f"/api/v1/assessments/rounds/{code}/results", headers=bearer(world, "editor_b")).json()
    assert [r["unit"] for r in mine] == [UNIT_B]
    log = client.get("/api/v1/audit?action=assessment.&limit=50", headers=a).json()
    actions = {e["action"] for e in log if e["object_key"] == f"{code}/{UNIT_A}"}
    assert {"assessment.self_assessed", "assessment.submitted", "assessment.appraised", "assessment.approved",
            "assessment.published"} <= actions


def test_the_public_reads_published_results_only(client, world):
    rows = client.get(f"/api/v1/public/rounds/{PUBLISHED}/results").json()
    assert [r["unit"] for r in rows] == [UNIT_A]
    rounds = {r["code"] for r in client.get("/api/v1/public/rounds").json()}
    assert PUBLISHED in rounds
    for url in ("/api/v1/units", "/api/v1/tasks", "/api/v1/assessments/rounds", "/api/v1/audit", "/api/v1/targets"):
        assert client.get(url).status_code == 401


def test_a_viewer_reads_its_unit_and_writes_nothing(client, world):
    v = bearer(world, "viewer_a")
    assert client.get(f"/api/v1/tasks/{TASK_A}", headers=v).status_code == 200
    assert client.post(f"/api/v1/tasks/{TASK_A}/progress", data={"percent": "10"}, headers=v).status_code == 403
    assert client.put("/api/v1/targets/values", json={"indicator": "web.manual", "unit": UNIT_A, "period": "2026",
                                                      "value": 1}, headers=v).status_code == 403
    assert client.post("/api/v1/dossiers", json=[], headers=v).status_code == 403


def test_lists_are_paged_with_a_total(client, world):
    h = bearer(world, "admin")
    r = client.get("/api/v1/units?level=commune&limit=5&offset=5", headers=h)
    assert r.status_code == 200 and len(r.json()) == 5 and int(r.headers["x-total-count"]) > 100
    assert client.get("/api/v1/units?limit=0", headers=h).status_code == 422
    assert client.get("/api/v1/units?limit=100000", headers=h).json()["error"]["code"] == "invalid_request"
