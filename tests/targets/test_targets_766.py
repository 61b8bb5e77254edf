"""Computed indicators: 766 references resolve through chiso.index.service.index_766."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from chiso.auth.permissions import command_line
from chiso.dossiers.store import DossierStore, registry_units
from chiso.index.service import index_766
from chiso.periods import parse_period
from chiso.targets import service


A = "24781"
HEADER = ["dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status",
          "channel", "has_fee", "paid_online", "digitized", "e_result", "requires_paper_result", "synced",
          "supplement_days"]
ROWS = [("d1", "2025-09-02 09:00", "2025-09-05 17:00", "2025-09-04 10:00", "settled", "online"),
        ("d2", "2025-09-03 09:00", "2025-09-10 17:00", "2025-09-12 10:00", "settled", "direct")]


def test_766_total_and_indicator_rate(loaded, tmp_path):
    path = tmp_path / "sept.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for d, rec, due, fin, status, channel in ROWS:
            w.writerow([d, "1.000001", A, rec, due, fin, status, channel, "false", "false", "true", "false",
                        "false", "true", ""])
    store = DossierStore(tmp_path / "store")
    assert store.import_files([path], source="test", units=registry_units(loaded)).rejected == 0
    row = next(r for r in index_766(loaded, store, parse_period("2025-09")) if r["unit"] == A)
    as_of = date(2025, 9, 30)   # default period: the month of the date
    assert service.resolve_value(loaded, "766.total", A, as_of, store=store) == pytest.approx(row["total"])
    assert service.resolve_value(loaded, "766.2.1", A, as_of, store=store) == pytest.approx(
        row["indicators"]["2.1"]["rate"]) == pytest.approx(0.5)
    assert service.resolve_value(loaded, "766.rank", A, as_of, period="2025-09", store=store) == row["rank"]
    assert service.resolve_value(loaded, "766.total", A, as_of, store=None) is None   # no store: no data

    service.save_target(loaded, actor=command_line(), code="I766", indicator="766.2.1", unit=A, direction="higher", goal=0.9,
                        deadline=date(2025, 12, 15))
    got = service.status(loaded, as_of=as_of, store=store)
    assert got == [{"target": "I766", "unit": A, "colour": "amber", "value": pytest.approx(0.5), "goal": 0.9,
                    "deadline": "2025-12-15"}]
