"""A demonstration province for the dashboard's tests, its browser tests and the screenshots
script: the registry of Lâm Đồng, a few thousand synthetic dossiers of this year, and
``chiso.demo.seed_demo`` (committee, tasks, targets, two assessment rounds), with accounts of
every role. Built once per backend per test session.

The stores are configured through CHISO_DATA_DIR and CHISO_DATABASE_URL only while they are
built and, through ``demo_env``, while a test of ours runs: other tests' world is left alone.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from chiso import db
from chiso.auth.permissions import command_line

from tests.mail import free_port

PASSWORD = "mật-khẩu-demo-đủ-dài"
DOSSIERS = 6000
ROUND_UNITS = 12


@dataclass
class DemoWorld:
    url: str
    engine: object
    store: object
    data_dir: Path
    province: str
    editor_unit: str
    other_unit: str
    round_code: str
    tokens: dict[str, str] = field(default_factory=dict)
    #: Cookies of a signed-in browser by (account, language), kept by ``signed_in`` in
    #: test_browser.py so that a test starts on its page instead of on the login form.
    sessions: dict[tuple[str, str], dict] = field(default_factory=dict)


@contextmanager
def environment(url: str, data_dir: Path):
    saved = {k: os.environ.get(k) for k in ("CHISO_DATA_DIR", "CHISO_DATABASE_URL")}
    os.environ["CHISO_DATA_DIR"] = str(data_dir)
    os.environ["CHISO_DATABASE_URL"] = url
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def build(url: str, data_dir: Path, *, dossiers: int = DOSSIERS) -> DemoWorld:
    from datetime import date

    from chiso.assessments import service as rounds
    from chiso.auth import service as auth
    from chiso.demo import seed_demo
    from chiso.dossiers.cli import make_demo_data
    from chiso.store.service import open_records
    from chiso.units import service as units

    with environment(url, data_dir):
        engine = db.make_engine(url)
        db.upgrade(engine)
        make_demo_data("68", n=dossiers, seed=1)
        store = open_records(engine)
        seed_demo(engine, "68", store=store, communes_in_round=ROUND_UNITS)
        with db.transaction(engine) as session:
            communes = units.list_units(session, level="commune", within="68", as_of=date.today())
            round_code = f"xa-{date.today().year}"
            # The round's units in code order: the editor's unit is the first, still open.
            editor_unit, other_unit = communes[0].code, communes[1].code
            for name, role, unit in (("admin", "admin", None), ("editor", "editor", editor_unit),
                                     ("editor_other", "editor", other_unit), ("steering", "steering", None),
                                     ("appraiser", "appraiser", None), ("viewer", "viewer", editor_unit)):
                try:
                    auth.get_user(session, name)
                except Exception:
                    auth.add_user(session, actor=command_line(), name=name, role=role, unit=unit, password=PASSWORD,
                                  full_name=f"Người dùng {name}")
            try:
                rounds.assign_appraiser(session, user="appraiser", round_code=round_code, actor=command_line())
            except Exception:
                pass
            world = DemoWorld(url=url, engine=engine, store=store, data_dir=data_dir, province="68",
                              editor_unit=editor_unit, other_unit=other_unit, round_code=round_code)
            for name in ("admin", "editor"):
                world.tokens[name], _row = auth.create_token(session, actor=command_line(), user=name)
    return world


# --------------------------------------------------------------------------- a real server


class Server:
    """uvicorn serving the app in a background thread on a free loopback port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def browser_login(page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda u: "/login" not in u)
