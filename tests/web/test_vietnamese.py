"""Vietnamese everywhere on a Vietnamese page: an administrator's crawl of every page of the
permission matrix finds none of the codes and English words the application uses inside
(bands, states, roles, event names, criterion ids); a person's language choice is kept on
the account and follows them to their next sign-in."""

from __future__ import annotations

import re


from chiso import db

from tests.web.conftest import PASSWORD, csrf_of, login
from tests.web.permission_table import CORE, DASHBOARD, REPORTS

#: Words and codes the application uses inside that must never reach a Vietnamese reader.
ENGLISH = ("good", "excellent", "average", "weak", "pass", "fail", "self_assessed", "submitted", "approved",
           "appraised", "published", "draft", "Overdue", "overdue", "in_progress", "done_on_time", "done_late",
           "not_started", "cancelled", "no_data", "admin", "steering", "editor", "appraiser", "viewer", "green",
           "amber", "red", "none", "None", "True", "False", "null")
#: A dotted code such as "steering.plan" or "session.login" (not a number such as 2.1).
DOTTED = re.compile(r"\b[a-z][a-z_]+\.[a-z_]+\b")
#: Codes and names that people typed (the test's own indicator, the file name an upload test
#: gives): data, not the application's words.
DATA_CODES = ("web.manual", "win.ini")
#: Pages that are files, streams or redirects rather than pages to read.
NOT_PAGES = ("/static", "/docs", "/events", "/lang/{code}", "/reports/file", "/healthz", "/redoc", "/openapi.json")
CRAWLER = "quan-tri-thu"


def visible_text(html: str, people: tuple[str, ...] = ()) -> str:
    # People's login names are theirs ("admin" is one here), not codes of the application.
    for name in people:
        for shown in (f"<td>{name}</td>", f"Người thử {name}", f" {name}</td>"):
            html = html.replace(shown, "")
    html = re.sub(r"(?s)<(script|style|svg)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    # Titles and labels are read aloud and shown as tooltips: they count as text.
    attrs = " ".join(re.findall(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"', html))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html) + " " + attrs)


def pages(world) -> list[str]:
    from tests.web.conftest import ROUND, TASK_A, TARGET_A, UNIT_A, UNIT_B, PUBLISHED, TASK_B, TARGET_B, TASK_A_SPARE

    values = {"{A}": UNIT_A, "{B}": UNIT_B, "{ROUND}": ROUND, "{PUBLISHED}": PUBLISHED, "{TASK_A}": TASK_A,
              "{TASK_B}": TASK_B, "{TASK_SPARE}": TASK_A_SPARE, "{TARGET_A}": TARGET_A, "{TARGET_B}": TARGET_B,
              "{VICTIM}": CRAWLER, "{TOKEN_A}": "1"}
    urls = []
    for e in CORE + DASHBOARD + REPORTS:
        if e.method != "GET" or e.path.startswith("/api/") or e.path in NOT_PAGES or e.skip:
            continue
        admin = e.expect[3] if not isinstance(e.expect[3], tuple) else e.expect[3][0]
        if admin != 200:
            continue
        url = e.url
        for k, v in values.items():
            url = url.replace(k, v)
        if url not in urls:
            urls.append(url)
    return urls


def test_every_page_in_vietnamese_has_no_english_code(app, world):
    from fastapi.testclient import TestClient

    from chiso.auth import service as auth
    from chiso.auth.permissions import command_line

    with db.transaction(world.engine) as session:
        if CRAWLER not in {u["name"] for u in auth.list_users(session, actor=command_line())}:
            auth.add_user(session, name=CRAWLER, role="admin", password=PASSWORD, full_name="Người kiểm tra",
                          actor=command_line())
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set("chiso_lang", "vi")
        login(c, CRAWLER)
        found = {}
        urls = pages(world)
        assert len(urls) >= 15, urls
        for url in urls:
            r = c.get(url)
            assert r.status_code == 200, (url, r.status_code)
            if "text/html" not in r.headers.get("content-type", ""):
                continue
            text = visible_text(r.text, tuple(world.users) + (CRAWLER, "matrix-victim"))
            words = []
            for w in ENGLISH:
                hit = re.search(r"(?<![\w.-])%s(?![\w-])" % re.escape(w), text)
                if hit:
                    words.append(f"{w} («{text[max(0, hit.start() - 30):hit.end() + 30]}»)")
            words += [m for m in DOTTED.findall(text) if not m.endswith((".css", ".js", ".png", ".xlsx", ".csv", ".pdf")) and m not in DATA_CODES]
            if words:
                found[url] = sorted(set(words))
    assert not found, "\n".join(f"{u}: {w}" for u, w in found.items())


def test_a_language_choice_is_kept_on_the_account(app, world):
    from fastapi.testclient import TestClient

    from chiso.auth.models import User
    from sqlalchemy import select

    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        login(c, "viewer_a")
        assert c.get("/lang/en?next=/account").status_code == 303
    with db.transaction(world.engine) as session:
        assert session.scalar(select(User.language).where(User.name == "viewer_a")) == "en"
    # Another computer, no cookie: the sign-in brings the person's language back.
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/login")
        assert 'lang="vi"' in page.text
        r = c.post("/login", data={"name": "viewer_a", "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/account"},
                   follow_redirects=False)
        assert r.status_code == 303 and "chiso_lang=en" in r.headers.get("set-cookie", "")
        assert 'lang="en"' in c.get("/account").text
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        login(c, "viewer_a")
        c.get("/lang/vi?next=/")


def test_the_audit_trail_speaks_the_store_time_and_shows_changes_as_a_table(app, world):
    from datetime import datetime

    from fastapi.testclient import TestClient

    from chiso.clock import local_now

    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set("chiso_lang", "vi")
        login(c, "admin")
        entry = c.get("/api/v1/audit?action=session.login", headers={"Accept": "application/json"}).json()
        entry = entry["entries"][0] if isinstance(entry, dict) else entry[0]
        html = c.get("/audit?action=session.login").text
        shown = local_now(datetime.fromisoformat(entry["at"])).strftime("%d/%m/%Y %H:%M")
        assert shown in html  # the store's wall clock (Asia/Ho_Chi_Minh by default), not UTC
        assert "đăng nhập" in html
        html = c.get("/audit?action=user.create").text
        assert 'class="changes"' in html and "quản trị viên" in html
        assert "\\u" not in html and "{&#34;" not in html and '{"' not in html
