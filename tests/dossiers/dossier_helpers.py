"""Helpers for the dossier tests: a registry with a unit code reused across the 1 July 2025
reform, canonical rows, files written in tmp_path, and the store's current records."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from chiso.dossiers import DossierStore

REFORM = date(2025, 7, 1)

#: (registry code, official code, valid_from, valid_to), as ``registry_units`` returns them.
#: Ward 20194 before the reform and the new ward 20194 after it are different units.
UNITS = [
    ("old:20194", "20194", None, REFORM),
    ("20194", "20194", REFORM, None),
    ("old:20200", "20200", None, REFORM),  # merged into 20194 on 1 July 2025
    ("24781", "24781", None, None),  # went on unchanged
    ("68.SNV", None, None, None),  # an agency (Sở Nội vụ)
]

HEADER = [
    "dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status",
    "channel", "has_fee", "paid_online", "digitized", "e_result", "requires_paper_result", "synced",
    "supplement_days",
]


def row(dossier_id: str = "H1", **values: Any) -> dict[str, Any]:
    """A valid canonical row; keyword arguments replace fields."""
    base = {
        "dossier_id": dossier_id,
        "procedure_code": "1.001234",
        "unit_code": "24781",
        "received_at": "2025-08-04T08:00:00",
        "due_at": "2025-08-08T17:00:00",
        "finished_at": "",
        "status": "processing",
        "channel": "online",
        "has_fee": "1",
        "paid_online": "0",
        "digitized": "1",
        "e_result": "0",
        "requires_paper_result": "1",
        "synced": "",
        "supplement_days": "",
    }
    base.update(values)
    return base


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None, *,
              delimiter: str = ",", bom: bool = False) -> Path:
    if header is None:
        header = list(rows[0]) if rows else HEADER
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=delimiter)
        out.writerow(header)
        for r in rows:
            out.writerow([r.get(h, "") for h in header])
    return path


def read_rejects(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def records(store: DossierStore, kind: str = "dossiers", key: str = "dossier_id") -> dict[str, dict[str, Any]]:
    """The current records of ``kind`` by key."""
    con = store.connect()
    try:
        cur = con.execute(f"SELECT * FROM {kind}")
        names = [d[0] for d in cur.description]
        return {r[names.index(key)]: dict(zip(names, r)) for r in cur.fetchall()}
    finally:
        con.close()
