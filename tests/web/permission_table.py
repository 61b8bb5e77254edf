"""The permission matrix: what every route of the application answers to the four actors.

Every route of the app (``app.routes``, included routers too) must have an entry here, or
``test_permissions.py`` fails: a new route is not done until its permissions are stated.

An entry gives the URL to call (placeholders below), the body, and the expected status for
each actor, in the order ``(anonymous, editor of B, editor of A, administrator)``; a
status may be a tuple of acceptable ones. The objects are commune A's, so editor B must get
404 (for B, A's data does not exist); with ``mirror=True`` the same URL is also called on
B's objects and the two editors' expectations swap, so editor A never sees B's either. On
every GET that answers 200, the test also checks that neither editor's page or JSON names
the other commune's unit, task or target.

Placeholders: {A} {B} unit codes; {ROUND} a draft round with A and B; {PUBLISHED} a round
where A is published; {TASK_A} {TASK_B}; {TASK_SPARE} a task of A
the matrix marks done and cancels; {TARGET_A} {TARGET_B}; {TOKEN_A} the id of a
token of editor A; {VICTIM} an account the administrator may reset and deactivate.

The dashboard's pages go in :data:`DASHBOARD`; the dashboard's engineer extends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Expect = tuple  # (anonymous, editor_b, editor_a, admin); each an int or a tuple of ints

#: A reading API route: any logged-in reader, 401 for the public.
READ = (401, 200, 200, 200)
#: A reading API route about an object of A.
READ_A = (401, 404, 200, 200)
#: A page anyone logged in opens; the public is sent to the login form (303).
PAGE = (303, 200, 200, 200)
PAGE_A = (303, 404, 200, 200)
ADMIN_PAGE = (303, 403, 403, 200)
OPEN = (200, 200, 200, 200)
#: After a write that succeeded, the same write again may be refused on the object's state
#: (400: e.g. already submitted): it passed the permission check, which is what is tested.
DONE_OR_STATE = (200, 400)


@dataclass
class Entry:
    method: str
    path: str                      # the route's path, as FastAPI declares it
    url: str                       # what to call, with placeholders
    expect: Expect
    json: Any = None
    form: dict | None = None
    files: dict | None = None
    content: bytes | None = None
    headers: dict = field(default_factory=dict)
    mirror: bool = False
    skip: str | None = None        # why the matrix cannot call it (and where it is tested)


PDF = b"%PDF-1.4\n% test evidence\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
#: The checksum the evidence store keeps :data:`PDF` under: the download entries fetch the
#: file the upload entries before them stored.
PDF_SHA = __import__("hashlib").sha256(PDF).hexdigest()

CORE: list[Entry] = [
    Entry("GET", "/healthz", "/healthz", OPEN),
    Entry("GET", "/static", "/static/chiso.css", OPEN),
    Entry("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", OPEN),
    Entry("GET", "/docs", "/docs", OPEN),
    Entry("GET", "/events", "/events", OPEN, skip="a stream that never ends: test_events_cli.py::test_an_upload_reaches_open_pages_as_a_change_event"),
    # accounts and administration pages
    Entry("GET", "/login", "/login", (200, 303, 303, 303)),
    Entry("POST", "/login", "/login", (401, 401, 401, 401), form={"name": "nobody-matrix", "password": "wrong-password-1"}),
    Entry("GET", "/lang/{code}", "/lang/vi?next=/account", (303, 303, 303, 303)),
    Entry("GET", "/account", "/account", PAGE),
    Entry("GET", "/account/password", "/account/password", PAGE),
    Entry("POST", "/account/password", "/account/password", (303, 400, 400, 400),
          form={"current": "not-the-password", "new": "a-new-password-1", "again": "a-new-password-1"}),
    Entry("GET", "/admin/users", "/admin/users", ADMIN_PAGE),
    Entry("POST", "/admin/users", "/admin/users", (303, 403, 403, 303),
          form={"name": "matrix-new", "role": "viewer", "unit": "{A}", "password": "mật-khẩu-mới-đủ-dài"}),
    Entry("POST", "/admin/users/{name}/reset", "/admin/users/{VICTIM}/reset", (303, 403, 403, 303),
          form={"password": "mật-khẩu-đặt-lại-1"}),
    Entry("POST", "/admin/users/{name}/active", "/admin/users/{VICTIM}/active", (303, 403, 403, 303),
          form={"active": "false"}),
    Entry("GET", "/audit", "/audit", PAGE),
    Entry("POST", "/logout", "/logout", (303, 303, 303, 303), skip="ends the session: test_permissions.py::test_logout_route"),
    # API: accounts, units, index, dossiers, audit, tokens
    Entry("GET", "/api/v1/me", "/api/v1/me", READ),
    Entry("GET", "/api/v1/units", "/api/v1/units?level=commune", READ),
    Entry("GET", "/api/v1/units/{code}", "/api/v1/units/{A}", READ_A, mirror=True),
    Entry("GET", "/api/v1/units/{code}/lineage", "/api/v1/units/{A}/lineage", READ_A, mirror=True),
    Entry("GET", "/api/v1/index/766", "/api/v1/index/766?period=2026-11", READ),
    Entry("GET", "/api/v1/index/766", "/api/v1/index/766?period=2026-11&unit={A}", READ_A, mirror=True),
    Entry("GET", "/api/v1/index/766/reconcile", "/api/v1/index/766/reconcile?period=2026-11", READ),
    Entry("GET", "/api/v1/index/766/explain", "/api/v1/index/766/explain?period=2026-11&unit={A}&indicator=2.1",
          READ_A, mirror=True),
    # B's editor may upload: the record of A is rejected in the summary (tested in test_uploads.py).
    # A source the province writes becomes the province's (test_service.py, issue 18).
    Entry("POST", "/api/v1/dossiers", "/api/v1/dossiers?source=matrix", (401, 200, 200, 200),
          json=[{"dossier_id": "M-1", "procedure_code": "1.001", "unit_code": "{A}", "received_at": "2026-11-03 08:00",
                 "due_at": "2026-11-08 08:00", "finished_at": "2026-11-04 08:00", "status": "settled"}]),
    Entry("GET", "/api/v1/audit", "/api/v1/audit", READ),
    Entry("GET", "/api/v1/audit", "/api/v1/audit?unit={A}", READ_A, mirror=True),
    Entry("GET", "/api/v1/tokens", "/api/v1/tokens", READ),
    Entry("DELETE", "/api/v1/tokens/{token_id}", "/api/v1/tokens/{TOKEN_A}", (401, 404, 200, 200)),
    # assessments
    Entry("GET", "/api/v1/assessments/rounds", "/api/v1/assessments/rounds", READ),
    Entry("GET", "/api/v1/assessments/rounds/{code}", "/api/v1/assessments/rounds/{ROUND}", READ),
    Entry("GET", "/api/v1/assessments/rounds/{code}/results", "/api/v1/assessments/rounds/{ROUND}/results", READ),
    Entry("GET", "/api/v1/assessments/rounds/{code}/units/{unit}", "/api/v1/assessments/rounds/{ROUND}/units/{A}",
          READ_A, mirror=True),
    Entry("GET", "/api/v1/assessments/rounds/{code}/units/{unit}/events",
          "/api/v1/assessments/rounds/{ROUND}/units/{A}/events", READ_A, mirror=True),
    Entry("PUT", "/api/v1/assessments/rounds/{code}/units/{unit}/values",
          "/api/v1/assessments/rounds/{ROUND}/units/{A}/values", (401, 404, 200, 200),
          json={"values": {"work": 30, "on_time": 0.8}, "notes": {"work": "biên bản họp"}}),
    Entry("POST", "/api/v1/assessments/rounds/{code}/units/{unit}/evidence",
          "/api/v1/assessments/rounds/{ROUND}/units/{A}/evidence", (401, 404, 201, 201),
          form={"node": "work"}, files={"file": ("bien-ban.pdf", PDF, "application/pdf")}),
    Entry("POST", "/api/v1/assessments/rounds/{code}/units/{unit}/submit",
          "/api/v1/assessments/rounds/{ROUND}/units/{A}/submit", (401, 404, 200, 400)),
    Entry("PUT", "/api/v1/assessments/rounds/{code}/units/{unit}/appraisal",
          "/api/v1/assessments/rounds/{ROUND}/units/{A}/appraisal", (401, 404, 403, 200),
          json={"values": {"work": 25}, "comments": {"work": "thiếu biên bản"}}),
    Entry("POST", "/api/v1/assessments/rounds/{code}/approve", "/api/v1/assessments/rounds/{ROUND}/approve",
          (401, 404, 403, 200), json={"unit": "{A}"}),
    Entry("POST", "/api/v1/assessments/rounds/{code}/publish", "/api/v1/assessments/rounds/{ROUND}/publish",
          (401, 404, 403, 200), json={"unit": "{A}"}),
    Entry("POST", "/api/v1/assessments/rounds/{code}/reopen", "/api/v1/assessments/rounds/{ROUND}/reopen",
          (401, 403, 403, 200), json={"reason": "sai số liệu", "to": "self_assessed"}),
    Entry("GET", "/api/v1/public/rounds", "/api/v1/public/rounds", OPEN),
    Entry("GET", "/api/v1/public/rounds/{code}/results", "/api/v1/public/rounds/{PUBLISHED}/results", OPEN),
    # tasks
    Entry("GET", "/api/v1/tasks", "/api/v1/tasks", READ),
    Entry("GET", "/api/v1/tasks/{code}", "/api/v1/tasks/{TASK_A}", READ_A, mirror=True),
    Entry("POST", "/api/v1/tasks/{code}/progress", "/api/v1/tasks/{TASK_A}/progress", (401, 404, 200, 200),
          form={"percent": "40", "note": "đã lắp 10/20 điểm"}),
    Entry("POST", "/api/v1/tasks/{code}/done", "/api/v1/tasks/{TASK_SPARE}/done", (401, 404, 200, 200),
          form={"note": "xong"}, files={"file": ("nghiem-thu.pdf", PDF, "application/pdf")}),
    Entry("POST", "/api/v1/tasks/{code}/cancel", "/api/v1/tasks/{TASK_SPARE}/cancel", (401, 404, 403, 200),
          json={"reason": "trùng nhiệm vụ khác"}),
    # targets
    Entry("GET", "/api/v1/targets", "/api/v1/targets", READ),
    Entry("GET", "/api/v1/targets/status", "/api/v1/targets/status?as_of=2026-11-20", READ),
    Entry("GET", "/api/v1/targets/values", "/api/v1/targets/values", READ),
    Entry("PUT", "/api/v1/targets/values", "/api/v1/targets/values", (401, 404, 200, 200),
          json={"indicator": "web.manual", "unit": "{A}", "period": "2026", "value": 7}),
    Entry("GET", "/api/v1/targets/{code}", "/api/v1/targets/{TARGET_A}", READ_A, mirror=True),
    # subscriptions: one's own, to what one may read
    Entry("GET", "/api/v1/subscriptions", "/api/v1/subscriptions", READ),
    Entry("POST", "/api/v1/subscriptions", "/api/v1/subscriptions", (401, 404, 200, 200),
          json={"kind": "unit", "target": "{A}", "frequency": "weekly"}),
    Entry("DELETE", "/api/v1/subscriptions/{kind}/{target}", "/api/v1/subscriptions/unit/{A}", (401, 404, 200, 200)),
    Entry("GET", "/api/v1/alerts", "/api/v1/alerts", READ),
    Entry("GET", "/api/v1/alerts", "/api/v1/alerts?unit={A}", READ_A, mirror=True),
    # technical deductions: entered and withdrawn province-wide (manage), read in scope
    Entry("GET", "/api/v1/adjustments", "/api/v1/adjustments", READ),
    Entry("POST", "/api/v1/adjustments", "/api/v1/adjustments", (401, 403, 403, 200),
          form={"unit": "{A}", "period": "2024-01", "indicator": "2.1", "points": "-0.5", "reason": "ma trận quyền"}),
    Entry("POST", "/api/v1/adjustments/{adjustment_id}/withdraw", "/api/v1/adjustments/0/withdraw", (401, 404, 404, 404),
          json={"reason": "thử"}, skip="needs an adjustment's id: test_adjustments_web.py::test_adjustments_through_the_api"),
]

#: The dashboard's pages (src/chiso/web/dashboard/): its engineer adds an entry per route.
#: (First filled in by the API engineer from the routes of the day: check and extend.)
DASHBOARD: list[Entry] = [
    Entry("GET", "/", "/", (303, 200, 200, 200)),
    Entry("GET", "/public", "/public", OPEN),
    Entry("GET", "/766", "/766?period=2026-11", PAGE),
    Entry("GET", "/766/{code}", "/766/{A}?period=2026-11", PAGE_A, mirror=True),
    Entry("GET", "/766/{code}/{indicator}", "/766/{A}/2.1?period=2026-11", PAGE_A, mirror=True),
    Entry("POST", "/766/{code}/adjustments", "/766/{A}/adjustments", (303, 404, 403, 303),
          form={"period": "2024-01", "concerns": "2.1", "points": "-0,5", "reason": "ma trận quyền"}),
    Entry("POST", "/766/{code}/adjustments/{adjustment_id}/withdraw", "/766/{A}/adjustments/0/withdraw", PAGE_A,
          skip="needs an adjustment's id: test_adjustments_web.py::test_a_deduction_from_the_unit_page"),
    Entry("GET", "/766/{code}/adjustments/{adjustment_id}/evidence", "/766/{A}/adjustments/0/evidence", PAGE_A,
          skip="needs an adjustment's id: test_adjustments_web.py::test_a_deduction_from_the_unit_page"),
    Entry("GET", "/rankings", "/rankings", PAGE),
    Entry("GET", "/reconcile", "/reconcile", PAGE),
    Entry("GET", "/map", "/map", PAGE),
    Entry("GET", "/due", "/due", PAGE),
    Entry("GET", "/due/{code}", "/due/{A}", PAGE_A, mirror=True),
    Entry("GET", "/wall", "/wall?interval=30", PAGE),
    Entry("POST", "/subscribe", "/subscribe", (303, 404, 303, 303),
          form={"kind": "unit", "target": "{A}", "frequency": "daily", "alerts": "on", "next": "/766/{A}"}),
    Entry("POST", "/unsubscribe", "/unsubscribe", (303, 404, 303, 303), form={"kind": "unit", "target": "{A}"}),
    Entry("GET", "/assessments", "/assessments", PAGE),
    Entry("GET", "/assessments/{code}", "/assessments/{ROUND}", PAGE),
    Entry("GET", "/assessments/{code}/{unit}", "/assessments/{ROUND}/{A}", PAGE_A, mirror=True),
    Entry("POST", "/assessments/{code}/{unit}/self", "/assessments/{ROUND}/{A}/self", (303, 404, 303, 303),
          form={"action": "save"}),
    Entry("POST", "/assessments/{code}/{unit}/evidence", "/assessments/{ROUND}/{A}/evidence", (303, 404, 303, 303),
          form={"node": "work"}, files={"file": ("bien-ban.pdf", PDF, "application/pdf")}),
    Entry("GET", "/assessments/{code}/{unit}/evidence/{sha256}", "/assessments/{ROUND}/{A}/evidence/" + PDF_SHA,
          PAGE_A),
    Entry("POST", "/assessments/{code}/{unit}/submit", "/assessments/{ROUND}/{A}/submit", (303, 404, 303, 303)),
    Entry("POST", "/assessments/{code}/{unit}/appraise", "/assessments/{ROUND}/{A}/appraise", (303, 404, 403, 303)),
    Entry("GET", "/targets", "/targets", PAGE),
    Entry("GET", "/tasks", "/tasks", PAGE),
    Entry("GET", "/tasks/{code}", "/tasks/{TASK_A}", PAGE_A, mirror=True),
    Entry("GET", "/tasks/{code}/evidence/{sha256}", "/tasks/{TASK_A}/evidence/" + PDF_SHA, PAGE_A),
    Entry("GET", "/scorecard", "/scorecard?period=2026-11&unfold=TDGQ", PAGE),
    # the committee's working cycle (src/chiso/web/dashboard/committee.py): recording a
    # meeting and its conclusions is the province's ("manage"); the notice names every unit.
    Entry("GET", "/meetings", "/meetings", PAGE),
    Entry("POST", "/meetings", "/meetings", (303, 403, 403, 303),
          form={"date": "2026-11-20", "kind": "thematic", "chair": "Chủ tịch UBND tỉnh"}),
    Entry("GET", "/meetings/{code}", "/meetings/WEB-HOP", PAGE),
    Entry("POST", "/meetings/{code}/conclusions", "/meetings/WEB-HOP/conclusions", (303, 403, 403, 303),
          form={"title": "Rà soát quy trình nội bộ", "owner": "Giám đốc Sở", "unit": "68", "deadline": "2026-12-20",
                "product": "Quy trình", "authority": "Chủ tịch UBND tỉnh"}),
    Entry("GET", "/meetings/{code}/notice.{fmt}", "/meetings/WEB-HOP/notice.docx", (303, 404, 404, 200)),
    Entry("GET", "/meetings/{code}/minutes", "/meetings/WEB-HOP/minutes", PAGE),
    Entry("GET", "/committee", "/committee", PAGE),
    Entry("GET", "/procedures", "/procedures", PAGE),
]

#: The reports page (src/chiso/reports/web.py): a scorecard for anyone who sees its unit;
#: announcements and periodic reports, which name every unit, for province-wide readers.
REPORTS: list[Entry] = [
    Entry("GET", "/reports", "/reports", PAGE),
    Entry("GET", "/reports/preview", "/reports/preview?kind=scorecard&period=2026-11&unit={A}", PAGE_A, mirror=True),
    Entry("GET", "/reports/preview", "/reports/preview?kind=periodic&period=2026-11", (303, 403, 403, 200)),
    Entry("GET", "/reports/file", "/reports/file?kind=scorecard&period=2026-11&unit={A}&format=xlsx", PAGE_A, mirror=True),
    Entry("GET", "/reports/runs/{run_id}", "/reports/runs/987654", (303, 404, 404, 404)),
]

ENTRIES = CORE + DASHBOARD + REPORTS
