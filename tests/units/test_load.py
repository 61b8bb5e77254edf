"""Loading the registry from the unit packages (`init`): idempotent, and a bad province or
agency template is refused with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chiso import db
from chiso.errors import ChisoError
from chiso.units import service
from chiso.units.models import LineageEvent, Unit


def test_init_twice_changes_nothing(backend, store_url):
    engine = db.make_engine(store_url)
    with db.transaction(engine) as session:
        first = service.init_province(session, "11")
    with db.transaction(engine) as session:
        count = session.scalar(select(func.count()).select_from(Unit))
        events = session.scalar(select(func.count()).select_from(LineageEvent))
        second = service.init_province(session, "11")
        assert session.scalar(select(func.count()).select_from(Unit)) == count
        assert session.scalar(select(func.count()).select_from(LineageEvent)) == events
    assert first.changed and not second.changed, second.to_json()
    engine.dispose()


@pytest.mark.parametrize("bad", ["99", "abc", "", "6800"])
def test_unknown_province_is_refused_and_nothing_is_written(backend, store_url, bad):
    engine = db.make_engine(store_url)
    with pytest.raises(ChisoError):
        with db.transaction(engine) as session:
            service.init_province(session, bad)
    with db.transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
    engine.dispose()


@pytest.mark.parametrize(
    "template, words",
    [
        ("agencies: [{code: A, name: Sở A, kind: department}, {code: A, name: Sở B, kind: department}]", "repeats"),
        ("agencies: [{code: A, name: Sở A}]", "kind"),
        ("agencies: [{code: A, name: Sở A, kind: department}]\nlegacy_agencies: [{code: B, name: Sở B, kind: department, successor: Z}]", "Z"),
        ("nothing: here", "list of agencies"),
        ("agencies: [", "Cannot read"),
    ],
)
def test_a_bad_agency_template_is_refused_and_nothing_is_written(backend, store_url, tmp_path, monkeypatch,
                                                                 template, words):
    monkeypatch.setenv("CHISO_LANG", "en")
    path = tmp_path / "agencies.yaml"
    path.write_text(template, encoding="utf-8")
    engine = db.make_engine(store_url)
    with pytest.raises(ChisoError, match=words):
        with db.transaction(engine) as session:
            service.init_province(session, "68", template=path)
    with db.transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
    engine.dispose()
