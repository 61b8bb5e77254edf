"""A province for the web tests: one store per backend for the whole session, with the four
actors of the permission matrix (province administrator, editor of commune A, editor of
commune B, anonymous) and a few more roles, API tokens, and dossiers of both communes.

The application writes through its own transactions, so tests cannot be rolled back; they
add what they need under names of their own and never assume the store is otherwise empty.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from chiso import db
from chiso.auth.permissions import command_line

from tests.conftest import BACKENDS, PROVINCE

PASSWORD = "mật-khẩu-đủ-dài-1"
UNIT_A = "24781"  # Phường Xuân Hương - Đà Lạt
UNIT_B = "22918"  # Phường Mũi Né


@dataclass
class World:
    url: str
    engine: object
    store: object
    data_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # name -> role


def dossier(i: int | str, unit: str, *, status: str = "settled", day: str = "2026-11-02") -> dict:
    """One canonical dossier record received on ``day``, settled on time unless told."""
    received = datetime.fromisoformat(day + " 08:00")
    return {
        "dossier_id": f"T-{i}", "procedure_code": "1.001", "unit_code": unit,
        "received_at": received.isoformat(sep=" "), "due_at": (received + timedelta(days=5)).isoformat(sep=" "),
        "finished_at": (received + timedelta(days=2)).isoformat(sep=" ") if status == "settled" else None,
        "status": status,
    }


#: Objects of commune A and commune B in every domain, for the permission matrix.
ROUND = "WEB-R"          # a round with A and B in it (draft)
PUBLISHED = "WEB-PUB"    # a round where A is published and B is not
TASK_A, TASK_B = "WEB-T-A", "WEB-T-B"
TASK_A_SPARE = "WEB-T-A9"  # A's task that the matrix marks done and cancels
TARGET_A, TARGET_B = "WEB-TG-A", "WEB-TG-B"
METHOD = """\
kind: tree
id: "web-test"
family: "web-test"
version: "1"
default: false
name: "Bộ tiêu chí thử web"
name_en: "Web test criteria"
legal_basis:
  - {document: "Test", title: "Văn bản thử", title_en: "Test document", confidence: V}
sources:
  - title: "test"
confidence: V
levels: [commune]
max: 100
publish: points
bands:
  - {id: "A", name: "A", name_en: "A", min: 50, max: 100, confidence: V}
  - {id: "B", name: "B", name_en: "B", min: 0, max: 50, confidence: V}
nodes:
  - id: "work"
    name: "Công việc"
    name_en: "Work"
    max: 60
    rule: {type: manual}
  - id: "on_time"
    name: "Đúng hạn"
    name_en: "On time"
    max: 40
    rule: {type: ratio}
"""


def _seed_domains(session, w: "World") -> None:
    from chiso.assessments import service as rounds
    from chiso.targets import service as targets
    from chiso.tasks import service as tasks

    method = w.data_dir / "web-test.yaml"
    method.write_text(METHOD, encoding="utf-8")
    for code in (ROUND, PUBLISHED):
        rounds.create_round(session, code=code, method=str(method), year=2026, actor=command_line("seed"))
        rounds.add_units(session, round_code=code, units_groups=[(UNIT_A, "wards"), (UNIT_B, "wards")], actor=command_line("seed"))
    rounds.self_assess(session, round_code=PUBLISHED, unit_code=UNIT_A, values={"work": 40, "on_time": 0.9}, actor=command_line("seed"))
    rounds.submit(session, round_code=PUBLISHED, unit_code=UNIT_A, actor=command_line("seed"))
    rounds.approve(session, round_code=PUBLISHED, unit_code=UNIT_A, actor=command_line("seed"))
    rounds.publish(session, round_code=PUBLISHED, unit_code=UNIT_A, actor=command_line("seed"))
    rounds.self_assess(session, round_code=PUBLISHED, unit_code=UNIT_B, values={"work": 10}, actor=command_line("seed"))
    sheet = w.data_dir / "tasks.csv"
    sheet.write_text("id,title,owner,unit,deadline\n"
                     f"{TASK_A},Lắp điểm cầu phường A,Nguyễn Văn A,{UNIT_A},2026-12-31\n"
                     f"{TASK_B},Lắp điểm cầu phường B,Trần Thị B,{UNIT_B},2026-12-31\n"
                     f"{TASK_A_SPARE},Số hóa hồ sơ phường A,Nguyễn Văn C,{UNIT_A},2026-12-31\n", encoding="utf-8")
    summary = tasks.import_tasks(session, actor=command_line(), path=sheet, write_rejects=False)
    assert summary.rejected == 0, summary.rejects
    # A's task carries one evidence file from the start, so that its download can be tried
    # whatever other tests did to the tasks before (the spare task is marked done and cancelled).
    from tests.web.permission_table import PDF

    evidence = w.data_dir / "bien-ban.pdf"
    evidence.write_bytes(PDF)
    tasks.update_progress(session, actor=command_line("seed"), code=TASK_A, percent=10, evidence=evidence,
                          evidence_name="bien-ban.pdf")
    rounds.attach_evidence(session, round_code=ROUND, unit_code=UNIT_A, node_id="work", path=evidence,
                           name="bien-ban.pdf", actor=command_line("seed"))
    from chiso.tasks import meetings

    meetings.add_meeting(session, actor=command_line("seed"), held_on=date(2026, 11, 10), kind="regular",
                         chair="Chủ tịch UBND tỉnh", code="WEB-HOP", minutes=evidence, minutes_name="bien-ban-hop.pdf")
    for code, unit in ((TARGET_A, UNIT_A), (TARGET_B, UNIT_B)):
        targets.save_target(session, actor=command_line(), code=code, indicator="web.manual", unit=unit, direction="higher", goal=10,
                            deadline="2026-12-31", name=f"Chỉ tiêu {unit}")
        targets.set_value(session, actor=command_line("seed"), indicator="web.manual", unit=unit, period="2026", value=3)


@pytest.fixture(scope="session", params=BACKENDS)
def world(request, tmp_path_factory, store_templates):
    from chiso.auth import service as auth
    from chiso.dossiers.store import registry_units
    from chiso.store.service import open_records

    url, pg = store_templates.copy(request.param, PROVINCE)  # province 68 loaded, migrated
    data_dir = tmp_path_factory.mktemp("data")
    saved = {k: os.environ.get(k) for k in ("CHISO_DATA_DIR", "CHISO_DATABASE_URL")}
    os.environ["CHISO_DATA_DIR"] = str(data_dir)
    os.environ["CHISO_DATABASE_URL"] = url
    engine = db.make_engine(url)
    w = World(url=url, engine=engine, store=open_records(engine), data_dir=data_dir)
    with db.transaction(engine) as session:
        for name, role, unit in (("admin", "admin", None), ("editor_a", "editor", UNIT_A),
                                 ("editor_b", "editor", UNIT_B), ("steering", "steering", None),
                                 ("viewer_a", "viewer", UNIT_A), ("appraiser", "appraiser", None)):
            auth.add_user(session, actor=command_line(), name=name, role=role, unit=unit, password=PASSWORD, full_name=f"Người thử {name}")
            w.users[name] = role
        for name in ("admin", "editor_a", "editor_b", "steering", "viewer_a"):
            w.tokens[name], _row = auth.create_token(session, actor=command_line(), user=name)
        w.tokens["editor_a_read"], _row = auth.create_token(session, actor=command_line(), user="editor_a", scopes=["read"])
        registry = registry_units(session)
    w.store.import_rows([dossier(f"A{i}", UNIT_A) for i in range(20)] + [dossier(f"B{i}", UNIT_B) for i in range(20)],
                        source="seed", units=registry)
    with db.transaction(engine) as session:
        _seed_domains(session, w)
    yield w
    engine.dispose()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    if pg:
        pg.drop()


@pytest.fixture(scope="session")
def app(world):
    from chiso.web.app import create_app

    return create_app(engine=world.engine, store=world.store, events_interval=0.2)


@pytest.fixture
def client(app):
    """A browser with no cookies."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver") as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no form token"
    return match.group(1)


def login(client, name: str, password: str = PASSWORD):
    """Log ``client`` in through the login form; returns the session's form token."""
    page = client.get("/login")
    r = client.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text), "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return csrf_of(client.get("/account").text)


def bearer(world: World, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[name]}"}


@pytest.fixture(autouse=True)
def _close_browser_pages(request):
    """Close the pages a browser test opened when it ends. An open page of the dashboard keeps
    a live-update stream that asks the server for its versions every quarter second; left
    open, the pages of a whole module starved the server (a 30 s timeout in CI)."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    yield
    for context in list(browser.contexts):
        context.close()
