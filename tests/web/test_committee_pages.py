"""The committee's pages (meetings, a meeting with its conclusions and notice, the committee,
the procedure catalogue) in Vietnamese and English, the conclusion counts on the task
board, and indicator values sent in batches by another system with a token limited to
its indicators."""

from __future__ import annotations

import io
import re

import docx
import pytest
from fastapi.testclient import TestClient

from chiso import db
from chiso.auth.permissions import command_line

from tests.web.conftest import UNIT_A, UNIT_B, login


@pytest.fixture
def steering(app):
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver", client=("10.19.0.1", 1)) as c:
        token = login(c, "steering")
        yield c, token


def _meeting(c, token: str, day: str) -> str:
    from tests.web.permission_table import PDF

    r = c.post("/meetings", data={"csrf": token, "date": day, "kind": "thematic", "chair": "Chủ tịch UBND tỉnh",
                                  "title": "Chuyên đề chuyển đổi số"}, follow_redirects=False,
               files={"minutes": ("biên bản họp.pdf", PDF, "application/pdf")})
    assert r.status_code == 303, r.text[:300]
    return r.headers["location"].rsplit("/", 1)[1]


def test_a_meeting_and_its_conclusions_in_both_languages(steering):
    c, token = steering
    code = _meeting(c, token, "2026-10-15")
    r = c.post(f"/meetings/{code}/conclusions", follow_redirects=False, data={
        "csrf": token, "title": "Số hóa hồ sơ tồn đọng", "owner": "Giám đốc Sở Nội vụ", "unit": "68",
        "deadline": "2026-10-31", "product": "Kho dữ liệu số", "authority": "Chủ tịch UBND tỉnh"})
    assert r.status_code == 303 and "error" not in r.headers["location"]
    bad = c.post(f"/meetings/{code}/conclusions", follow_redirects=False, data={
        "csrf": token, "title": "Thiếu sản phẩm", "owner": "A", "unit": "68", "deadline": "2026-10-31",
        "product": "", "authority": "B"})
    assert "error=" in bad.headers["location"]

    c.cookies.set("chiso_lang", "vi")
    vi = c.get(f"/meetings/{code}").text
    assert "Số hóa hồ sơ tồn đọng" in vi and "Kho dữ liệu số" in vi and "15/10/2026" in vi and "31/10/2026" in vi
    assert 'data-testid="minutes-link"' in vi and "biên bản họp.pdf" in vi
    minutes = c.get(f"/meetings/{code}/minutes")
    assert minutes.status_code == 200 and minutes.content.startswith(b"%PDF")
    task = c.get(f"/tasks/{code}-KL01").text
    assert f'href="/meetings/{code}"' in task and "Kết luận phiên họp ngày 15/10/2026, mục 1" in task
    assert "Thông báo kết luận (DOCX)" in vi and "phiên họp chuyên đề" in vi
    assert re.search(r"1 kết luận: 0 đã hoàn thành \(0 trễ hạn\), 1 quá hạn, 0 đang thực hiện", vi)
    listing = c.get("/meetings").text
    assert code in listing and "Dự kiến nội dung phiên họp tới" in listing and "Số hóa hồ sơ tồn đọng" in listing
    board = c.get("/tasks").text
    assert "Kết luận các phiên họp" in board and f"/meetings/{code}" in board

    c.cookies.set("chiso_lang", "en")
    en = c.get(f"/meetings/{code}").text
    assert "Conclusion notice (DOCX)" in en and "1 conclusions: 0 done (0 late), 1 overdue, 0 open." in en
    assert "Agenda draft of the next meeting" in c.get("/meetings").text

    notice = c.get(f"/meetings/{code}/notice.docx")
    assert notice.status_code == 200 and notice.headers["content-type"].startswith("application/vnd.openxml")
    d = docx.Document(io.BytesIO(notice.content))
    text = "\n".join([p.text for p in d.paragraphs] + [cell.text for t in d.tables for row in t.rows for cell in row.cells])
    assert "31/10/2026" in text and "Số hóa hồ sơ tồn đọng" in text and not re.search(r"\d{4}-\d{2}-\d{2}", text)
    pdf = c.get(f"/meetings/{code}/notice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert c.get(f"/meetings/{code}/notice.odt").status_code == 404


def test_an_editor_reads_meetings_but_does_not_record_them(client):
    token = login(client, "editor_a")
    assert client.get("/meetings").status_code == 200
    r = client.post("/meetings", data={"csrf": token, "date": "2026-11-01", "kind": "regular", "chair": "X"},
                    follow_redirects=False)
    assert r.status_code == 403
    page = client.get("/meetings/WEB-HOP").text
    assert 'action="/meetings/WEB-HOP/conclusions"' not in page and "notice.docx" not in page


def test_the_committee_page_lists_members_support_team_and_documents(world, steering):
    from datetime import date

    from chiso.tasks import charter, service

    with db.transaction(world.engine) as s:
        service.add_member(s, actor=command_line(), code="web-pct", name="Phó Chủ tịch Thử", role="Phó Trưởng ban",
                           title="Phó Chủ tịch UBND tỉnh", fields=["Cải cách TTHC"], unit_codes=["68"])
        service.add_member(s, actor=command_line(), code="web-tgv", name="Chuyên viên Thử", role="Tổ viên",
                           body="support_team")
        charter.add_document(s, actor=command_line(), kind="establishment", number="99/QĐ-UBND-THU",
                             title="Quyết định thành lập Ban Chỉ đạo", signed_on=date(2025, 7, 15))
    c, _token = steering
    c.cookies.set("chiso_lang", "vi")
    vi = c.get("/committee").text
    assert "Tổ giúp việc" in vi and "Chuyên viên Thử" in vi and "Phó Chủ tịch UBND tỉnh" in vi
    assert "99/QĐ-UBND-THU" in vi and "15/07/2025" in vi and "Cải cách TTHC" in vi
    c.cookies.set("chiso_lang", "en")
    assert "Support team" in c.get("/committee").text


def test_the_procedure_catalogue_page(world, tmp_path):
    from chiso.dossiers.store import DossierStore, registry_units
    from chiso.web.app import create_app

    from tests.web.conftest import dossier

    store = DossierStore(tmp_path / "records")
    with db.transaction(world.engine) as s:
        reg = registry_units(s)
    store.import_rows([{"procedure_code": "1.001", "name": "Đăng ký khai sinh", "online_level": "full",
                        "statutory_days": 1}, {"procedure_code": "1.002", "name": "Cấp giấy phép", "online_level": "partial"}],
                      source="catalogue", units=None, kind="procedures")
    store.import_rows([dossier("PA", UNIT_A), dossier("PB", UNIT_B)], source="seed", units=reg)
    app = create_app(engine=world.engine, store=store, events_interval=0.2)
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver", client=("10.19.0.2", 1)) as c:
        login(c, "admin")
        # Through /lang, which also records the account's language (another test of the shared
        # world may have recorded one: it outranks the cookie alone).
        vi = c.get("/lang/vi?next=/procedures").text
        assert "Danh mục thủ tục hành chính" in vi and "Đăng ký khai sinh" in vi
        assert "2 thủ tục: 1 toàn trình, 1 một phần, 0 chưa trực tuyến." in vi
        assert "Tỷ lệ dịch vụ công trực tuyến toàn trình: 50,0 %." in vi and "chỉ tiêu 3.1" in vi
        assert f"/766/{UNIT_A}" in vi and f"/766/{UNIT_B}" in vi
        assert "Cấp giấy phép" not in c.get("/procedures?level=full").text
        # Beside indicator 3.1 on the unit's 766 page: the unit handled one procedure, full online.
        unit = c.get(f"/766/{UNIT_A}?period=2026-11").text
        assert "Dịch vụ công trực tuyến toàn trình (theo danh mục): 1/1 thủ tục có hồ sơ, đạt 100,0 %." in unit
        en = c.get("/lang/en?next=/procedures").text
        c.get("/lang/vi?next=/")  # the shared account speaks the store's language again
        assert "Procedure catalogue" in en and "Share of full online services: 50.0 %." in en
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver", client=("10.19.0.3", 1)) as c:
        login(c, "editor_a")
        page = c.get("/procedures").text
        assert f"/766/{UNIT_A}" in page and UNIT_B not in page


def test_indicator_values_in_batches_from_another_system(world, client):
    from chiso.auth import service as auth

    with db.transaction(world.engine) as s:
        limited, _row = auth.create_token(s, actor=command_line(), user="editor_a", indicators=["chi_so_ky_so"],
                                          name="ký số")
    headers = {"Authorization": f"Bearer {limited}"}
    batch = {"source": "ky-so", "values": [
        {"indicator": "chi_so_ky_so", "unit": UNIT_A, "period": "2026-10", "value": 81.5},
        {"indicator": "chi_so_ky_so", "unit": UNIT_A, "period": "2026-11", "value": 87.5, "source": "ky-so-v2"}]}
    r = client.put("/api/v1/targets/values", json=batch, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["saved"] == 2 and [v["source"] for v in body["values"]] == ["ky-so", "ky-so-v2"]
    assert body["values"][0]["entered_by"] == "editor_a"

    def stored():
        got = client.get("/api/v1/targets/values?indicator=chi_so_ky_so", headers=headers).json()
        return {(v["period"], v["value"], v["source"]) for v in got}

    assert stored() == {("2026-10", 81.5, "ky-so"), ("2026-11", 87.5, "ky-so-v2")}
    # Another indicator, or a unit outside the scope: the whole batch is refused, nothing changes.
    other = {"source": "ky-so", "values": [{"indicator": "chi_so_ky_so", "unit": UNIT_A, "period": "2026-10", "value": 1},
                                           {"indicator": "web.manual", "unit": UNIT_A, "period": "2026", "value": 1}]}
    assert client.put("/api/v1/targets/values", json=other, headers=headers).status_code == 403
    outside = {"source": "ky-so", "values": [{"indicator": "chi_so_ky_so", "unit": UNIT_A, "period": "2026-10", "value": 2},
                                             {"indicator": "chi_so_ky_so", "unit": UNIT_B, "period": "2026-10", "value": 2}]}
    assert client.put("/api/v1/targets/values", json=outside, headers=headers).status_code == 404
    assert stored() == {("2026-10", 81.5, "ky-so"), ("2026-11", 87.5, "ky-so-v2")}
    # A single value without a source is still taken, from a token with no such limit.
    one = client.put("/api/v1/targets/values", headers={"Authorization": f"Bearer {world.tokens['editor_a']}"},
                     json={"indicator": "hop_khong_giay", "unit": UNIT_A, "period": "2026", "value": 3})
    assert one.status_code == 200 and one.json()["source"] is None
    listed = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {world.tokens['admin']}"}).json()
    assert next(t for t in listed if t["name"] == "ký số")["indicators"] == ["chi_so_ky_so"]
