"""Malformed and oversized uploads, and injection attempts in text fields and file names:
always a clear 4xx JSON error or a correct answer, never a server error, never reflected
HTML, nothing imported from a refused upload, nothing written outside the data folder."""

from __future__ import annotations

import re

import pytest

from chiso.assessments import evidence

from tests.web.conftest import PUBLISHED, ROUND, TASK_A, UNIT_A, UNIT_B, bearer, dossier, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MALFORMED = [
    ("application/json", b"[{\"dossier_id\": \"X\",", "not valid JSON"),
    ("application/json", b'{"dossier_id": "X"}', "array"),
    ("application/json", b"[1, 2, 3]", "array"),
    ("application/json", b"\xff\xfe\x00\x00", "not valid JSON"),
    ("text/plain", b"dossier_id\nX\n", "text/plain"),
    ("text/csv", b"dossier_id,unit_code\nX1,24781\n", "procedure_code"),
    ("text/csv", b"\xff\xfe\x00garbage\x00\x01", "UTF-8"),
    ("application/x-ndjson", b"{bad json\n", ""),
    (XLSX, b"\x00\x01garbage" * 50, ""),
    ("", b"[]", ""),
]


@pytest.mark.parametrize("content_type,body,says", MALFORMED, ids=lambda v: repr(v)[:30] if isinstance(v, bytes) else v)
def test_malformed_uploads_are_refused_clearly_and_import_nothing(client, world, content_type, body, says):
    before = world.store.version("dossiers")
    headers = {**bearer(world, "editor_a"), "accept-language": "en", **({"content-type": content_type} if content_type else {})}
    r = client.post("/api/v1/dossiers?source=malformed", content=body, headers=headers)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert says in error["message"] or not says
    assert "/tmp" not in error["message"] and str(world.data_dir) not in error["message"]
    assert world.store.version("dossiers") == before


def test_an_oversized_body_is_refused_before_it_is_read(client, world, monkeypatch):
    monkeypatch.setenv("CHISO_MAX_UPLOAD_MB", "0.01")
    before = world.store.version("dossiers")
    big = b"[" + b",".join(b'{"dossier_id": "%d"}' % i for i in range(2000)) + b"]"
    r = client.post("/api/v1/dossiers", content=big, headers={**bearer(world, "admin"), "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b" " * 1024
    r = client.post("/api/v1/dossiers", content=chunks(), headers={**bearer(world, "admin"), "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert r.headers["content-security-policy"]
    assert world.store.version("dossiers") == before


INJECTIONS = [
    "' OR '1'='1' --",
    "1; DROP TABLE users; --",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "a\x00b",
    "x" * 5000,
    "\u202eexe.pdf",
    "مرحبا \u200f שלום",
    "{{7*7}}${7*7}%s%n",
]


def _no_5xx_no_reflection(r):
    assert r.status_code < 500, r.text[:300]
    if "html" in r.headers.get("content-type", ""):
        assert "<script>alert(1)</script>" not in r.text and "<img src=x" not in r.text


@pytest.mark.parametrize("text", INJECTIONS, ids=range(len(INJECTIONS)))
def test_injection_in_text_fields(client, world, text):
    from urllib.parse import quote

    admin, editor = bearer(world, "admin"), bearer(world, "editor_a")
    q = quote(text, safe="")
    for url in (f"/api/v1/units/{q}", f"/api/v1/units/{q}/lineage", f"/api/v1/tasks/{q}", f"/api/v1/targets/{q}",
                f"/api/v1/assessments/rounds/{q}", f"/api/v1/assessments/rounds/{ROUND}/units/{q}",
                f"/api/v1/public/rounds/{q}/results", f"/api/v1/index/766?period={q}",
                f"/api/v1/index/766?period=2026-11&unit={q}", f"/api/v1/audit?action={q}&actor={q}",
                f"/api/v1/units?within={q}", f"/api/v1/tasks?unit={q}", f"/api/v1/targets/values?indicator={q}"):
        for headers in (editor,):  # the same code reads for every role; the scoped one filters more
            r = client.get(url, headers=headers)
            _no_5xx_no_reflection(r)
            assert r.headers["content-type"].startswith("application/json")
    bodies = [
        ("POST", f"/api/v1/dossiers?source={q}", {"json": [dossier(text, UNIT_A), {**dossier("inj-1", UNIT_A), "procedure_code": text}]}),
        ("PUT", f"/api/v1/assessments/rounds/{ROUND}/units/{UNIT_A}/values", {"json": {"values": {text: 1}, "notes": {"work": text}}}),
        ("PUT", "/api/v1/targets/values", {"json": {"indicator": text[:64], "unit": UNIT_A, "period": "2026", "value": 1}}),
        ("PUT", "/api/v1/targets/values", {"json": {"indicator": "web.inj", "unit": text[:64], "period": text[:32], "value": 1}}),
        ("POST", f"/api/v1/tasks/{TASK_A}/progress", {"data": {"percent": "10", "note": text[:2000]}}),
        ("POST", f"/api/v1/assessments/rounds/{ROUND}/reopen", {"json": {"reason": text[:2000], "unit": text[:64]}}),
    ]
    for method, url, kwargs in bodies:
        for headers in (admin, editor):
            _no_5xx_no_reflection(client.request(method, url, headers=headers, **kwargs))


def test_injection_in_pages_is_escaped(client, world):
    """What one person types is shown to another escaped: names in the accounts page, notes
    in the audit trail; a login name is never echoed unescaped."""
    from fastapi.testclient import TestClient

    evil = '<script>alert(1)</script>'
    token = login(client, "admin")
    r = client.post("/admin/users", data={"csrf": token, "name": "inj-user", "role": "viewer", "unit": UNIT_A,
                                          "full_name": evil, "password": "mật-khẩu-đủ-dài-9"}, follow_redirects=False)
    assert r.status_code in (303, 400)
    page = client.get("/admin/users")
    assert evil not in page.text and "&lt;script&gt;" in page.text
    r = client.post(f"/api/v1/tasks/{TASK_A}/progress", data={"percent": "15", "note": evil}, headers=bearer(world, "editor_a"))
    assert r.status_code == 200
    audit = client.get("/audit?action=task.")
    assert audit.status_code == 200 and evil not in audit.text
    with TestClient(client.app, raise_server_exceptions=False, client=("10.66.0.1", 1)) as anon:
        page = anon.get("/login?next=" + evil)
        assert evil not in page.text
        from tests.web.conftest import csrf_of

        r = anon.post("/login", data={"name": evil, "password": "x", "csrf": csrf_of(page.text)})
        assert r.status_code == 401 and evil not in r.text


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\boot.pdf", "/etc/cron.d/x.pdf", "a\x00b.pdf",
                                  "\u202egpj.pdf", "<script>.pdf", "x" * 400 + ".pdf", "..", "", "C:\\x.pdf"])
def test_evidence_file_names_are_sanitised_and_stay_in_the_data_folder(client, world, name):
    pdf = b"%PDF-1.4\n" + name.encode("utf-8", "replace")[:50] + b"\n%%EOF\n"
    r = client.post(f"/api/v1/assessments/rounds/{PUBLISHED}/units/{UNIT_B}/evidence", data={"node": "work"},
                    files={"file": (name, pdf, "application/pdf")}, headers=bearer(world, "editor_b"))
    assert r.status_code in (201, 400, 422), r.text
    if r.status_code == 201:
        kept = r.json()["name"]
        assert "/" not in kept and "\\" not in kept and "\x00" not in kept and "\u202e" not in kept and kept not in (".", "..")
        assert len(kept) <= 255
        assert (evidence.store_dir(world.engine) / r.json()["sha256"]).exists()
    root = world.store.root.resolve()
    for p in root.parent.iterdir():
        assert p == root or not p.name.endswith(".pdf")
    assert not any(re.search(r"passwd|boot|cron", p.name) for p in root.rglob("*"))


def test_evidence_of_a_wrong_type_or_too_large_is_refused(client, world, monkeypatch):
    from chiso.assessments import evidence

    url = f"/api/v1/assessments/rounds/{PUBLISHED}/units/{UNIT_B}/evidence"
    h = bearer(world, "editor_b")
    r = client.post(url, data={"node": "work"}, files={"file": ("x.pdf", b"MZ\x90\x00 an executable", "application/pdf")}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    r = client.post(url, data={"node": "work"}, files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")}, headers=h)
    assert r.status_code == 400
    monkeypatch.setattr(evidence, "MAX_BYTES", 1000)
    r = client.post(url, data={"node": "work"}, files={"file": ("big.pdf", b"%PDF-" + b"0" * 5000, "application/pdf")}, headers=h)
    assert r.status_code == 400, r.text


def test_editor_of_a_uploads_for_a_and_every_record_of_b_is_rejected_with_a_reason(client, world):
    rows = [dossier(f"scope-a{i}", UNIT_A) for i in range(3)] + [dossier(f"scope-b{i}", UNIT_B) for i in range(2)]
    r = client.post("/api/v1/dossiers?source=scope", json=rows, headers=bearer(world, "editor_a"))
    assert r.status_code == 200
    body = r.json()
    assert body["read"] == 5 and body["rejected"] == 2 and body["inserted"] + body["updated"] + body["unchanged"] == 3
    assert [x["line"] for x in body["rejects"]] == [4, 5]
    assert all(UNIT_B in x["reason"] for x in body["rejects"])
    csv = "dossier_id,procedure_code,unit_code,received_at,due_at,finished_at,status\n" + "".join(
        f"csv-{u},1.001,{u},2026-11-03 08:00,2026-11-08 08:00,2026-11-04 08:00,settled\n" for u in (UNIT_A, UNIT_B))
    r = client.post("/api/v1/dossiers?source=scope-csv", content=csv.encode(),
                    headers={**bearer(world, "editor_a"), "content-type": "text/csv"})
    assert r.status_code == 200 and (r.json()["read"], r.json()["rejected"]) == (2, 1)
    assert r.json()["rejects"][0]["line"] == 3
    assert client.get(f"/api/v1/index/766?period=2026-11&unit={UNIT_B}", headers=bearer(world, "editor_a")).status_code == 404


def test_a_spreadsheet_bomb_or_ten_thousand_columns_are_refused_as_too_large(client, world, tmp_path):
    """Issue 18: a small workbook whose text unpacks to a gigabyte, and a CSV header of
    10,000 columns (which once reached the database as "Out of Memory"): 413, one reason,
    nothing imported."""
    from tests.test_sheets import bomb

    before = world.store.version("dossiers")
    body = bomb(tmp_path / "bomb.xlsx", 1024).read_bytes()
    r = client.post("/api/v1/dossiers", content=body,
                    headers={**bearer(world, "admin"), "content-type": XLSX, "accept-language": "en"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "too_large" and "max_unpacked_mb" in r.json()["error"]["message"]
    wide = ",".join(f"col{i}" for i in range(10_000)).encode() + b"\n" + b"x," * 9_999 + b"x\n"
    r = client.post("/api/v1/dossiers", content=wide,
                    headers={**bearer(world, "admin"), "content-type": "text/csv", "accept-language": "en"})
    assert r.status_code == 413 and "max_columns" in r.json()["error"]["message"], r.text
    assert world.store.version("dossiers") == before


NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECT = b'[{"dossier_id": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}]"


@pytest.mark.parametrize("method,path,content_type,body", [
    ("POST", "/api/v1/dossiers?source=nested", "application/json", NESTED),
    ("POST", "/api/v1/dossiers?source=nested", "application/json", NESTED_OBJECT),
    ("POST", "/api/v1/dossiers?source=nested", "application/x-ndjson", NESTED_OBJECT[1:-1] + b"\n"),
    ("PUT", "/api/v1/targets/values", "application/json", NESTED),
    ("PUT", f"/api/v1/assessments/rounds/{ROUND}/units/{UNIT_A}/values", "application/json", NESTED_OBJECT[1:-1]),
], ids=["array", "object", "ndjson", "targets", "assessments"])
def test_deeply_nested_json_is_refused_clearly_not_a_server_error(client, world, method, path, content_type, body):
    """Issue 18: a deeply nested body ended in RecursionError and a 500."""
    before = world.store.version("dossiers")
    headers = {**bearer(world, "editor_a"), "accept-language": "en", "content-type": content_type}
    r = client.request(method, path, content=body, headers=headers)
    assert r.status_code in (400, 422), r.text[:300]
    message = r.json()["error"]["message"]
    assert message and "\n" not in message
    assert world.store.version("dossiers") == before


def test_the_national_format_is_accepted_as_an_array_or_as_a_page_of_the_feed(client, world):
    """A one-stop system that pushes instead of being pulled (docs/sources.md): the national
    synchronisation names, and the feed's page shape ``{"items": [...]}``."""
    def rec(i: int, status: int) -> dict:
        return {"MaHoSo": f"nat-{i}", "MaTTHC": "1.001", "MaDonVi": UNIT_A, "NgayTiepNhan": "20261103080000",
                "NgayHenTra": "20261108080000", "NgayKetThucXuLy": "20261104080000" if status == 10 else "",
                "TrangThaiHoSo": status, "KenhThucHien": 2}

    r = client.post("/api/v1/dossiers?source=national", json=[rec(1, 2)], headers=bearer(world, "admin"))
    assert r.status_code == 200 and (r.json()["read"], r.json()["rejected"]) == (1, 0), r.text
    page = {"items": [rec(1, 10), rec(2, 4)], "next": None, "watermark": "20261104090000"}
    r = client.post("/api/v1/dossiers?source=national", json=page, headers=bearer(world, "admin"))
    assert r.status_code == 200, r.text
    assert (r.json()["read"], r.json()["inserted"], r.json()["updated"], r.json()["rejected"]) == (2, 1, 1, 0)
