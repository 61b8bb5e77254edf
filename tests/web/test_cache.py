"""The pages' result cache: the registry's stamp is read once per session, never stale."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event

from chiso import db
from chiso.units import service as units
from chiso.web import cache


def test_the_registry_stamp_is_read_once_per_session_and_again_after_a_write(engine):
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with db.transaction(engine) as s:
        first = cache.registry_stamp(s)
        n = len(statements)
        assert cache.registry_stamp(s) == first and len(statements) == n  # no query the second time
        units.create(s, code="P", name="Tỉnh Thử", level="province", kind="province", parent=None,
                     valid_from=date(2025, 7, 1))
        s.flush()
        second = cache.registry_stamp(s)  # the session wrote: read again, and it moved
        assert second != first and len(statements) > n
    with db.transaction(engine) as s:  # another session reads it anew
        assert cache.registry_stamp(s) == second


def test_a_registry_changed_by_another_session_is_seen_by_the_next_one(engine):
    with db.transaction(engine) as s:
        before = cache.registry_stamp(s)
    with db.transaction(engine) as other:
        units.create(other, code="P", name="Tỉnh Thử", level="province", kind="province", parent=None,
                     valid_from=date(2025, 7, 1))
    with db.transaction(engine) as s:
        assert cache.registry_stamp(s) != before


def test_a_unit_leaving_a_group_changes_the_registry_stamp(engine):
    """Ending a membership adds no row, it sets the end date: the stamp sees it all the same
    (the group's rankings were served stale until the next import)."""
    from chiso.units import groups

    d0 = date(2025, 7, 1)
    with db.transaction(engine) as s:
        units.create(s, code="P", name="Tỉnh Thử", level="province", kind="province", parent=None, valid_from=d0)
        units.create(s, code="A", name="Xã A", level="commune", kind="commune", parent="P", valid_from=d0)
        groups.create_group(s, code="g", name="Nhóm thử", group_set="thử")
        groups.add_to_group(s, "g", ["A"], valid_from=d0)
    with db.transaction(engine) as s:
        before = cache.registry_stamp(s)
    with db.transaction(engine) as s:
        assert groups.remove_from_group(s, "g", ["A"], effective=date(2025, 9, 1)) == 1
    with db.transaction(engine) as s:
        assert cache.registry_stamp(s) != before
