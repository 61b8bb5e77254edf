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
                                       "unchanged": 0, "rejected": 1, "version": 1,
                                       "changes_file": "changes/dossiers/changes-000000000001.parquet",
                                       "changes": {"inserted": ["S1"], "updated": {}}}


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


# --------------------------------------------------------------------------- sources


LATE = dict(received_at="2025-09-01T08:00:00", due_at="2025-09-05T17:00:00",
            finished_at="2025-09-12T10:00:00", status="settled")
ON_TIME = dict(LATE, finished_at="2025-09-03T10:00:00")


def test_a_commune_editor_cannot_rewrite_the_province_systems_records(loaded, store, tmp_path):
    """The attack of issue 18: a commune editor re-uploads the province system's late
    records of its own commune as finished on time, under the province system's source."""
    a, _b = _communes(loaded)
    late = [row(f"P{i}", unit_code=a.code, **LATE) for i in range(3)]
    service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="dvc-tinh",
                           paths=[write_csv(tmp_path / "province.csv", late)])
    before = records(store)
    version = store.version()
    forged = write_csv(tmp_path / "forged.csv", [row(f"P{i}", unit_code=a.code, **ON_TIME) for i in range(3)])
    with pytest.raises(Forbidden) as caught:
        service.import_records(loaded, store, actor=_editor(loaded, a), kind="dossiers", source="dvc-tinh",
                               paths=[forged])
    assert "dvc-tinh" in str(caught.value)
    # Nothing changed: the same records (still late), so the same on-time rate and ranks.
    assert records(store) == before and store.version() == version
    assert {r["finished_at"].day for r in records(store).values()} == {12}
    assert [e.action for e in _audit(loaded)] == ["dossiers.import"]


def test_a_source_the_province_writes_is_the_provinces_and_a_grant_overrides(loaded, store, tmp_path):
    a, b = _communes(loaded)
    from chiso.dossiers.models import RecordSource

    path = write_csv(tmp_path / "a.csv", [row("A1", unit_code=a.code, **RECEIVED)])
    path_b = write_csv(tmp_path / "b.csv", [row("B1", unit_code=b.code, **RECEIVED)])
    # A source communes write is shared by them, each for its own units (the first is kept).
    service.import_records(loaded, store, actor=_editor(loaded, a), kind="dossiers", source="hcc", paths=[path])
    owner = loaded.scalar(select(RecordSource).where(RecordSource.name == "hcc"))
    assert owner.unit_id == a.id
    service.import_records(loaded, store, actor=_editor(loaded, b), kind="dossiers", source="hcc", paths=[path_b])
    # Once the province writes it, it is the province's: no commune writes it any more.
    service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="hcc", paths=[path_b])
    assert owner.unit_id is None
    with pytest.raises(Forbidden):
        service.import_records(loaded, store, actor=_editor(loaded, a), kind="dossiers", source="hcc", paths=[path])
    # An account granted named sources writes those only, province-wide or not.
    granted = Actor(name="dvc", role="admin", via="api", sources=frozenset({"dvc-tinh"}))
    with pytest.raises(Forbidden):
        service.import_records(loaded, store, actor=granted, kind="dossiers", source="hcc", paths=[path])
    service.import_records(loaded, store, actor=granted, kind="dossiers", source="dvc-tinh", paths=[path])
    # A commune account granted the province's source writes it (the administrator's choice).
    editor_b = Actor(name="xb", role="editor", unit_id=b.id, units=scope_units(loaded, b.id), via="api",
                     sources=frozenset({"dvc-tinh"}))
    summary = service.import_records(loaded, store, actor=editor_b, kind="dossiers", source="dvc-tinh",
                                     paths=[path_b])
    assert summary.inserted == 1


def test_a_source_already_in_the_store_is_the_provinces(loaded, store, tmp_path):
    """Records written before sources had owners: their source is the province's, not the
    first commune's to ask."""
    a, _b = _communes(loaded)
    store.import_files([write_csv(tmp_path / "old.csv", [row("O1", unit_code=a.code, **LATE)])],
                       source="legacy", units=service.writable_units(loaded, command_line()))
    with pytest.raises(Forbidden):
        service.import_records(loaded, store, actor=_editor(loaded, a), kind="dossiers", source="legacy",
                               paths=[write_csv(tmp_path / "f.csv", [row("O1", unit_code=a.code, **ON_TIME)])])


def test_user_and_token_grants_reach_the_actor(loaded):
    from chiso.auth import service as auth

    a, _b = _communes(loaded)
    auth.add_user(loaded, name="xa", role="editor", unit=a.code, password="a long password 1",
                  sources=["hcc-a", "hcc-a2"], actor=command_line())
    _secret, token = auth.create_token(loaded, user="xa", sources=["hcc-a"], actor=command_line())
    user = auth.get_user(loaded, "xa")
    assert auth.actor_for_user(loaded, user).sources == {"hcc-a", "hcc-a2"}
    assert auth.actor_for_token(loaded, token).sources == {"hcc-a"}
    with pytest.raises(ChisoError):  # a token cannot reach beyond its account
        auth.create_token(loaded, user="xa", sources=["dvc-tinh"], actor=command_line())
    auth.set_sources(loaded, name="xa", sources=[], actor=command_line())
    assert auth.actor_for_user(loaded, user).sources is None


# --------------------------------------------------------------------------- what changed


def test_the_audit_names_the_changed_records_with_before_and_after(loaded, store, tmp_path):
    a, _b = _communes(loaded)
    first = [row("C1", unit_code=a.code, **RECEIVED), row("C2", unit_code=a.code, **RECEIVED)]
    service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="igate",
                           paths=[write_csv(tmp_path / "1.csv", first)])
    second = [row("C1", unit_code=a.code, **LATE), row("C2", unit_code=a.code, **RECEIVED),
              row("C3", unit_code=a.code, **RECEIVED)]
    summary = service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="igate",
                                     paths=[write_csv(tmp_path / "2.csv", second)])
    after = json.loads(_audit(loaded)[-1].after)
    assert after["changes"]["inserted"] == ["C3"]
    assert after["changes"]["updated"] == {"C1": {"finished_at": [None, "2025-09-12 10:00:00"],
                                                  "status": ["processing", "settled"]}}
    assert after["changes_file"] == f"changes/dossiers/changes-{summary.version:012d}.parquet"
    history = service.history(loaded, store, "C1")
    assert [(h["version"], h["action"]) for h in history] == [(1, "insert"), (summary.version, "update")]
    assert history[1]["changes"]["status"] == ["processing", "settled"] and history[1]["actor"].startswith("cli")
    assert service.history(loaded, store, "C2")[-1]["version"] == 1  # unchanged: no new entry


def test_a_large_import_keeps_its_changes_in_a_file_not_in_the_entry(loaded, store, tmp_path, monkeypatch):
    a, _b = _communes(loaded)
    monkeypatch.setattr(service, "INLINE_CHANGES", 2)
    rows = [row(f"L{i}", unit_code=a.code, **RECEIVED) for i in range(5)]
    summary = service.import_records(loaded, store, actor=command_line(), kind="dossiers", source="igate",
                                     paths=[write_csv(tmp_path / "l.csv", rows)])
    after = json.loads(_audit(loaded)[-1].after)
    assert "changes" not in after
    kept = store.read_changes("dossiers", summary.version)
    assert sorted(r["key"] for r in kept) == [f"L{i}" for i in range(5)]
    assert (store.root / after["changes_file"]).exists()
