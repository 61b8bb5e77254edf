"""`chiso demo`, the README's first command (here without starting the server): the demo
province, its dossiers, the steering picture and the accounts, with a login that works."""

from __future__ import annotations

import re

from chiso import db
from chiso.cli import main


def test_demo_sets_up_a_province_and_prints_a_working_login(tmp_path, monkeypatch, capsys):
    from chiso.auth import service as auth
    from chiso.tasks import service as tasks

    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CHISO_DATABASE_URL", raising=False)
    monkeypatch.setenv("CHISO_LANG", "en")
    assert main(["demo", "--dossiers", "3000", "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "Lâm Đồng" in out and "766 index" in out
    login = re.search(r"Demo login: account (\S+), password (\S+)", out)
    assert login, out[-800:]
    engine = db.make_engine()
    with db.transaction(engine) as session:
        user = auth.authenticate(session, name=login.group(1), password=login.group(2))
        assert user.role == "admin"
        assert any(t["status"] == "overdue" for t in tasks.list_tasks(session))
    # A second run changes the password (nobody keeps a demo password from a README).
    assert main(["demo", "--dossiers", "3000", "--no-serve"]) == 0
    again = re.search(r"Demo login: account (\S+), password (\S+)", capsys.readouterr().out)
    assert again and again.group(2) != login.group(2)
    engine.dispose()
