"""The procedure catalogue and feedback follow the same import rules as dossiers."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from chiso.errors import ChisoError
from dossier_helpers import UNITS, records, write_csv

CATALOGUE = [
    {"MaTTHC": "1.005129", "TenTTHC": "Cấp bản sao từ sổ gốc", "levels": "commune", "online_level": "Toàn trình",
     "has_fee": "có", "payment_integrated": "1", "statutory_days": "0,5", "paper_result": "1",
     "decision_date": "2025-06-20", "legal_effective_date": "01/07/2025", "published_date": "20250625000000",
     "complete_publication": "yes"},
    {"MaTTHC": "2.000001", "TenTTHC": "Đăng ký khai sinh", "levels": "commune", "online_level": "partial",
     "has_fee": "0", "payment_integrated": "", "statutory_days": "3", "paper_result": "1",
     "decision_date": "", "legal_effective_date": "", "published_date": "", "complete_publication": ""},
    {"MaTTHC": "3.000002", "TenTTHC": "", "online_level": "none"},  # no name
    {"MaTTHC": "3.000003", "TenTTHC": "X", "online_level": "level five"},
    {"MaTTHC": "3.000004", "TenTTHC": "Y", "online_level": "4", "statutory_days": "-2"},
]


def test_catalogue_import(store, tmp_path):
    path = write_csv(tmp_path / "cat.csv", CATALOGUE, header=list(CATALOGUE[0]))
    summary = store.import_files([path], source="province", units=None, kind="procedures")
    assert (summary.read, summary.inserted, summary.rejected) == (5, 2, 3)
    assert [(r.line, r.code) for r in summary.rejects] == [(4, "missing_value"), (5, "bad_choice"), (6, "negative")]
    got = records(store, "procedures", "procedure_code")
    first = got["1.005129"]
    assert (first["name"], first["online_level"], first["has_fee"], first["statutory_days"]) == (
        "Cấp bản sao từ sổ gốc", "full", True, 0.5)
    assert (first["decision_date"], first["legal_effective_date"], first["published_date"]) == (
        date(2025, 6, 20), date(2025, 7, 1), date(2025, 6, 25))
    assert first["complete_publication"] is True
    assert got["2.000001"]["payment_integrated"] is None  # empty: not stated
    # Re-importing is idempotent; a changed row is an update.
    again = store.import_files([path], source="province", units=None, kind="procedures")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    changed = [dict(CATALOGUE[1], statutory_days="5")]
    path2 = write_csv(tmp_path / "cat2.csv", changed, header=list(CATALOGUE[0]))
    assert store.import_files([path2], source="province", units=None, kind="procedures").updated == 1
    assert records(store, "procedures", "procedure_code")["2.000001"]["statutory_days"] == 5.0


def test_catalogue_needs_code_and_name(store, tmp_path):
    path = write_csv(tmp_path / "cat.csv", [{"procedure_code": "1"}], header=["procedure_code"])
    with pytest.raises(ChisoError, match="name"):
        store.import_files([path], source="p", units=None, kind="procedures")


FEEDBACK = [
    {"feedback_id": "P1", "unit_code": "20194", "received_at": "2025-08-01 09:00", "due_at": "2025-08-22",
     "handled_at": "2025-08-10 15:00", "outcome": "handled", "satisfied": "1", "repeated": "0"},
    {"feedback_id": "P2", "unit_code": "20194", "received_at": "2025-06-01 09:00", "due_at": "",
     "handled_at": "", "outcome": "", "satisfied": "", "repeated": ""},
    {"feedback_id": "P3", "unit_code": "20194", "received_at": "2025-08-01 09:00", "due_at": "",
     "handled_at": "2025-07-30", "outcome": "refused", "satisfied": "", "repeated": ""},
]


def test_feedback_import(store, tmp_path):
    path = write_csv(tmp_path / "pakn.csv", FEEDBACK)
    summary = store.import_files([path], source="pakn", units=UNITS, kind="feedback")
    assert (summary.read, summary.inserted, summary.rejected) == (3, 2, 1)
    assert summary.rejects[0].code == "order" and summary.rejects[0].line == 4
    got = records(store, "feedback", "feedback_id")
    assert (got["P1"]["rating"], got["P1"]["outcome"], got["P1"]["repeated"]) == ("satisfied", "handled", False)
    assert got["P1"]["handled_at"] == datetime(2025, 8, 10, 15)
    assert (got["P1"]["unit_code"], got["P2"]["unit_code"]) == ("20194", "old:20194")
    assert (got["P2"]["outcome"], got["P2"]["rating"]) == ("pending", None)
    # The handled version is later than a pending one: an old export cannot undo it.
    stale = [dict(FEEDBACK[0], outcome="pending", handled_at="")]
    summary = store.import_files([write_csv(tmp_path / "old.csv", stale)], source="pakn", units=UNITS, kind="feedback")
    assert (summary.updated, summary.unchanged) == (0, 1)


def test_dossiers_and_feedback_are_separate(store, tmp_path):
    store.import_files([write_csv(tmp_path / "pakn.csv", FEEDBACK[:1])], source="s", units=UNITS, kind="feedback")
    assert (store.count("feedback"), store.count("dossiers")) == (1, 0)
