"""A CSV file read by the check itself (the import's one pass) gives exactly what reading it
into a table of text first gave: the same counts, rejected lines, reasons, rejects files and
stored records, on files with every kind of trouble at once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from chiso.dossiers import DossierStore
from chiso.dossiers.stage import Stager
from dossier_helpers import HEADER, UNITS, records, row


def _line(values: dict[str, str]) -> str:
    return ",".join(str(values[h]) for h in HEADER)


def _tricky(path: Path, seed: int, prefix: str) -> Path:
    """Rows with every kind of trouble: blank lines, rows of empty cells, lines with too few
    or too many fields, bytes that are not UTF-8, a quoted line break, padded values, unknown
    units and units of another day, duplicates (clean or not, earlier or later), bad values."""
    rnd = random.Random(seed)
    lines = [",".join(HEADER)]
    written: list[str] = []
    for i in range(600):
        key = f"{prefix}{i % 450}"  # keys repeat: duplicates within the file
        pick = lambda *choices: rnd.choice(choices[:1] * 20 + choices)  # noqa: E731 (mostly the first)
        values = row(key, unit_code=pick("24781", "20194", "20200", "68.snv", "XX9", " 24781"),
                     received_at=pick("2025-08-04T08:00:00", "2025-06-30T09:00:00", "2025-07-01 08:00",
                                      "2025-08-04T08:00:00+07:00", "20250805083000", "31/02/2025", ""),
                     status=pick("processing", "settled", "9", "done", "RECEIVED"),
                     finished_at=pick("", "2025-08-06 10:00", "2025-06-01"),
                     supplement_days=pick("", "1,5", "-2", "x"))
        trouble = rnd.random()
        if trouble < 0.04:
            lines.append("")
        elif trouble < 0.08:
            lines.append("," * (len(HEADER) - 1))
        elif trouble < 0.11:
            lines.append(_line(values) + ",extra")
        elif trouble < 0.14:
            lines.append(f"{key},only,three")
        elif trouble < 0.16:
            lines.append(_line(values).replace("1.001234", "Th\udce9", 1))
        elif trouble < 0.18:
            lines.append(_line(values).replace(key, f'"{key}\nX"', 1))
        elif trouble < 0.20 and written:
            lines.append(rnd.choice(written))  # an exact copy of an earlier line
        else:
            lines.append(_line(values))
            written.append(lines[-1])
    path.write_bytes(("\n".join(lines) + "\n\n").encode("utf-8", "surrogateescape"))
    return path


def _import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: bool) -> tuple[object, ...]:
    monkeypatch.setattr(Stager, "stream_csv", stream)
    folder = tmp_path / ("stream" if stream else "table")
    folder.mkdir()
    store = DossierStore(folder / "store")
    first = _tricky(folder / "a.csv", 1, "T")
    second = _tricky(folder / "b.csv", 2, "T")  # the same keys again: the later version wins
    summary = store.import_files([first, second], source="s", units=UNITS)
    # An import limited to some units: rows over records of other units are rejected after
    # the check, and their cells come from the file again.
    scoped = store.import_files([_tricky(folder / "c.csv", 3, "T")], source="s", scoped=True,
                                units=[u for u in UNITS if u[0] != "24781"])
    again = store.import_files([first, second], source="s", units=UNITS)
    answers = []
    for s in (summary, scoped, again):
        data = s.to_json()
        for reject in data["rejects"]:
            reject["file"] = Path(reject["file"]).name
        answers.append({k: v for k, v in data.items() if k not in ("seconds", "rejects_path", "files")})
        answers.append([(f["read"], f["rejected"]) for f in data["files"]])
    files = [(folder / f"{name}.csv.rejects.csv").read_bytes() for name in ("a", "b", "c")]
    stored = {k: {c: v for c, v in r.items() if c != "imported_at"} for k, r in records(store).items()}
    return answers, files, stored


def test_a_csv_read_by_the_check_gives_what_a_staged_table_gave(tmp_path, monkeypatch):
    streamed = _import(tmp_path, monkeypatch, stream=True)
    staged = _import(tmp_path, monkeypatch, stream=False)
    answers, files, stored = streamed
    assert answers == staged[0]
    assert files == staged[1]
    assert stored == staged[2]
    # The file had each kind of trouble, and the import kept some records.
    reasons = {r["code"] for r in answers[0]["rejects"]} | {r["code"] for r in answers[2]["rejects"]}
    assert {"malformed", "duplicate", "unknown_unit", "unit_not_on_date", "bad_timestamp", "bad_choice",
            "missing_value", "outside_scope"} <= reasons
    assert answers[0]["inserted"] > 100 and answers[4]["inserted"] == 0
