"""The one dossier import the command line and the API call (``chiso.dossiers.service``), on
real SQLite and PostgreSQL stores: rights and scope, the audit entry, and answers to an
upload that say nothing of this server's folders."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from chiso.audit.models import AuditEntry
from chiso.auth.permissions import Actor, Forbidden, command_line, scope_units
from chiso.dossiers import DossierStore
from chiso.dossiers import service
from chiso.errors import ChisoError
from chiso.units.models import Unit

from dossier_helpers import read_rejects, records, row, write_csv

RECEIVED = dict(received_at="2025-09-01T08:00:00", due_at="2025-09-05T17:00:00")


def _communes(session) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.level == "commune", Unit.valid_to.is_(None))
                                .order_by(Unit.code).limit(2)))


def _editor(session, unit: Unit) -> Actor:
    return Actor(name="xa1", role="editor", unit_id=unit.id, units=scope_units(session, unit.id), via="api")


def _audit(session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("%.import")).order_by(AuditEntry.id)))


@pytest.fixture
def store(tmp_path) -> DossierStore:
    return DossierStore(tmp_path / "store")


def test_the_command_line_imports_files_writes_rejects_and_audits(loaded, store, tmp_path):
    a, _b = _communes(loaded)
    path = write_csv(tmp_path / "in.csv", [row("S1", unit_code=a.code, **RECEIVED),
                                           row("S2", unit_code="NOPE", **RECEIVED)])
    summary = service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="igate",
                                     paths=[path])
    assert (summary.read, summary.inserted, summary.rejected, summary.version) == (2, 1, 1, 1)
    assert summary.rejects_path == str(tmp_path / "in.csv.rejects.csv")
    assert [r["line"] for r in read_rejects(tmp_path / "in.csv.rejects.csv")] == ["3"]
    data = summary.to_json()
    assert data["files"][0]["path"] == str(path) and data["rejects"][0]["file"] == str(path)
    [entry] = _audit(loaded)
    assert (entry.action, entry.via, entry.object_key, entry.unit_id) == ("dossiers.import", "cli", "igate", None)
    assert entry.actor.startswith("cli")
    assert json.loads(entry.after) == {"files": ["in.csv"], "read": 2, "inserted": 1, "updated": 0,
                                       "unchanged": 0, "rejected": 1, "version": 1}


def test_an_editor_imports_only_for_units_in_scope(loaded, store, tmp_path):
    a, b = _communes(loaded)
    editor = _editor(loaded, a)
    path = write_csv(tmp_path / "in.csv", [row("S1", unit_code=a.code, **RECEIVED),
                                           row("S2", unit_code=b.code, **RECEIVED),
                                           row("S3", unit_code="NOPE", **RECEIVED)])
    summary = service.import_records(loaded, store, actor=editor, kind="dossiers", source="igate", paths=[path])
    assert (summary.inserted, summary.rejected) == (1, 2)
    # A unit outside one's scope and a unit that does not exist: the same words.
    assert {r.code for r in summary.rejects} == {"outside_scope"}
    assert set(records(store)) == {"S1"}
    [entry] = _audit(loaded)
    assert (entry.actor, entry.via, entry.unit_id) == ("xa1", "api", a.id)


def test_rights_are_checked_before_anything_is_read(loaded, store, tmp_path):
    a, _b = _communes(loaded)
    path = write_csv(tmp_path / "in.csv", [row("S1", unit_code=a.code, **RECEIVED)])
    viewer = Actor(name="v", role="viewer", via="web")
    with pytest.raises(Forbidden):
        service.import_records(loaded, store, actor=viewer, kind="dossiers", source="s", paths=[path])
    with pytest.raises(Forbidden):  # even a body that is not records at all
        service.import_records(loaded, store, actor=viewer, kind="dossiers", source="s",
                               upload=service.Upload(b"garbage", "text/plain"))
    with pytest.raises(Forbidden):
        service.import_records(loaded, store, actor=_editor(loaded, a), kind="procedures", source="s", paths=[path])
    assert store.version("dossiers") == 0 and _audit(loaded) == []


def test_an_upload_answers_without_this_servers_paths(loaded, store, tmp_path):
    a, _b = _communes(loaded)
    body = write_csv(tmp_path / "x.csv", [row("S1", unit_code=a.code, **RECEIVED),
                                          row("S2", unit_code=a.code, received_at="soon")]).read_bytes()
    summary = service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="api",
                                     upload=service.Upload(body, "text/csv"))
    data = summary.to_json()
    assert (data["inserted"], data["rejected"], data["rejects_path"]) == (1, 1, None)
    assert data["files"] == [{"path": "upload", "format": "csv", "read": 2, "rejected": 1, "rejects_path": None}]
    assert data["rejects"] == [{"file": "upload", "line": 3, "code": "bad_timestamp",
                                "reason": data["rejects"][0]["reason"]}]
    assert "/" not in json.dumps(data["files"]) + json.dumps(data["rejects"])
    assert "files" not in json.loads(_audit(loaded)[0].after)

    rows = json.dumps([row("S3", unit_code=a.code, **RECEIVED), row("", unit_code=a.code)]).encode()
    summary = service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="api",
                                     upload=service.Upload(rows, "application/json"))
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.rejects[0].file == "rows" and summary.files[0].path == "upload"
    assert set(records(store)) == {"S1", "S3"}


@pytest.mark.parametrize("media_type, body, says", [
    ("text/plain", b"dossier_id\n", "text/plain"),
    ("application/json", b'{"dossier_id": "X"}', "array"),
    ("text/csv", b"dossier_id,unit_code\nX1,24781\n", "upload.csv"),
])
def test_an_unreadable_upload_is_refused_naming_only_the_upload(loaded, store, media_type, body, says):
    with pytest.raises(ChisoError) as caught:
        service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="api",
                               upload=service.Upload(body, media_type))
    assert says in str(caught.value) and "/tmp" not in str(caught.value) and "chiso-upload" not in str(caught.value)
    assert store.version("dossiers") == 0 and _audit(loaded) == []


def test_an_upload_is_spooled_in_the_store_and_a_crashs_leftover_is_swept(loaded, store, tmp_path, monkeypatch):
    """Issue 18: the raw upload is written inside the store's own (private) folder, never in
    the machine's shared temporary folder, and what a crash left there goes at the next one."""
    import os
    import time

    monkeypatch.setenv("TMPDIR", str(tmp_path / "machine-tmp"))
    (tmp_path / "machine-tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    spool = store.root / "cache" / "uploads"
    crashed = spool / "upload-crashed"
    crashed.mkdir(parents=True)
    (crashed / "upload.csv").write_text("dossier_id\nleft behind\n", encoding="utf-8")
    old = time.time() - service.STALE_UPLOAD_SECONDS - 60
    os.utime(crashed, (old, old))
    a, _b = _communes(loaded)
    body = write_csv(tmp_path / "u.csv", [row("U1", unit_code=a.code, **RECEIVED)]).read_bytes()
    summary = service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="api",
                                     upload=service.Upload(body, "text/csv"))
    assert summary.inserted == 1
    assert not crashed.exists() and list(spool.iterdir()) == []
    assert list((tmp_path / "machine-tmp").iterdir()) == []
