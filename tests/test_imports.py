"""The one import summary and reject type (``chiso.imports``): the counts every import
reports, the keys each kind of import kept from before, and the rejects file."""

from __future__ import annotations

import csv

from chiso.i18n import use_language
from chiso.imports import FileSummary, ImportSummary, Reject, rejects_path_for, write_rejects


def test_every_summary_has_the_dhis2_counts_and_keeps_its_old_keys():
    tasks = ImportSummary(kind="tasks", read=3, inserted=1, unchanged=1, extra={"imported": 1})
    tasks.reject(4, "unknown unit X", {"id": "T3", "unit": "X"})
    data = tasks.to_json()
    assert {k: data[k] for k in ("read", "inserted", "updated", "unchanged", "rejected", "imported")} == {
        "read": 3, "inserted": 1, "updated": 0, "unchanged": 1, "rejected": 1, "imported": 1}
    assert data["kind"] == "tasks" and data["rejects_path"] is None
    assert data["rejects"] == [{"line": 4, "reason": "unknown unit X", "values": {"id": "T3", "unit": "X"}}]
    # Only a store import names its source, files and version.
    assert not {"source", "files", "version", "seconds"} & set(data)


def test_a_store_import_names_its_source_files_and_version():
    summary = ImportSummary(kind="dossiers", source="igate", seconds=0.12345, version=None,
                            files=[FileSummary(path="a.csv", format="csv", read=2, rejected=1)],
                            rejects=[Reject(line=3, reason="r", code="missing_key", file="a.csv")])
    data = summary.to_json()
    assert (data["source"], data["version"], data["seconds"]) == ("igate", None, 0.123)
    assert data["files"] == [{"path": "a.csv", "format": "csv", "read": 2, "rejected": 1, "rejects_path": None}]
    assert data["rejects"] == [{"file": "a.csv", "line": 3, "code": "missing_key", "reason": "r"}]


def test_the_rejects_file_is_written_beside_the_input_and_removed_when_clean(tmp_path):
    source = tmp_path / "đầu vào.csv"
    rejects = [Reject(line=2, reason="đơn vị lạ", values={"unit": "X"})]
    with use_language("en"):
        written = write_rejects(source, rejects, ["unit", "goal"])
    assert written == str(rejects_path_for(source)) == str(tmp_path / "đầu vào.csv.rejects.csv")
    assert open(written, "rb").read().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    with open(written, encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh)) == [["line", "reason", "unit", "goal"], ["2", "đơn vị lạ", "X", ""]]
    with use_language("vi"):  # headed in the reader's language, as the dossier rejects are
        write_rejects(source, rejects, ["unit", "goal"])
    with open(written, encoding="utf-8-sig", newline="") as fh:
        head = next(csv.reader(fh))
    assert head[2:] == ["unit", "goal"] and head[:2] != ["line", "reason"]
    assert write_rejects(source, [], ["unit"]) is None
    assert not rejects_path_for(source).exists()
