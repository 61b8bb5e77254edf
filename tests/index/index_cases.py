"""The dossiers of September 2025 the index tests score (ward 24781 of Lâm Đồng)."""

from __future__ import annotations

import csv
from pathlib import Path

from chiso.periods import parse_period

A, B = "24781", "24787"  # two wards of today's Lâm Đồng
SEPT = parse_period("2025-09")
HEADER = ["dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status",
          "channel", "has_fee", "paid_online", "digitized", "e_result", "requires_paper_result", "synced",
          "supplement_days"]

# (id, received, due, finished, status, channel, supplement days): the story of each is in
# the comment; September 2025 is the period.
CASES = [
    ("d1", "2025-09-02 09:00", "2025-09-05 17:00", "2025-09-04 10:00", "settled", "online", ""),    # on time
    ("d2", "2025-09-03 09:00", "2025-09-10 17:00", "2025-09-12 10:00", "settled", "direct", ""),    # late
    ("d3", "2025-09-20 09:00", "2025-10-03 17:00", "", "processing", "online", ""),                 # open, not yet due
    ("d4", "2025-09-10 09:00", "2025-09-25 17:00", "", "processing", "direct", ""),                 # open, past due
    ("d5", "2025-09-01 09:00", "2025-09-05 17:00", "2025-09-08 10:00", "returned", "direct", "4"),  # on time after 4 days' wait
    ("d6", "2025-08-20 09:00", "2025-08-28 17:00", "2025-08-27 10:00", "settled", "direct", ""),    # finished before the period
    ("d7", "2025-08-25 09:00", "2025-09-02 17:00", "2025-09-03 10:00", "settled", "direct", ""),    # carried over, late
    ("d8", "2025-09-15 09:00", "2025-09-20 17:00", "2025-09-16 10:00", "withdrawn", "online", ""),  # withdrawn in time
    ("d9", "2025-10-02 09:00", "2025-10-09 17:00", "", "received", "direct", ""),                   # after the period
]


def write(path: Path, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for dossier_id, received, due, finished, status, channel, supp in rows:
            w.writerow([dossier_id, "1.000001", A, received, due, finished, status, channel, "false", "false",
                        "true", "false", "false", "true", supp])
    return path
