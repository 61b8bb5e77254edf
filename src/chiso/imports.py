"""What every import answers, and where its rejected rows go.

Every import in chiso (dossier records, tasks, targets, survey answers, published results)
answers with one :class:`ImportSummary`, after DHIS2's import summaries: rows read, then
inserted + updated + unchanged + rejected, and one :class:`Reject` (line and reason) per
rejected row. Each writes its rejected rows, with the reason and the values as given, to
``<input>.rejects.csv`` beside the input (:func:`write_rejects`), so that a clerk can fix
them in a spreadsheet and import the file again.

This module sits below the domains and imports none of them: a domain fills a summary; the
command line and the API render it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from chiso.i18n import _
from chiso.sheets import csv_safe

#: The counts every summary reports, in the order they are shown.
COUNTS = ("read", "inserted", "updated", "unchanged", "rejected")


@dataclass
class Reject:
    """One rejected row: its line in the input and a reason a clerk understands.

    ``code`` names the kind of reason where the import has a fixed list of them (dossier
    records); ``file`` the input when an import reads several; ``values`` the row's cells
    as given, for the rejects file."""

    line: int
    reason: str
    code: str | None = None
    file: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.file is not None:
            data["file"] = self.file
        data["line"] = self.line
        if self.code is not None:
            data["code"] = self.code
        data["reason"] = self.reason
        if self.values:
            data["values"] = dict(self.values)
        return data


@dataclass
class FileSummary:
    """One input of an import that reads several."""

    path: str
    format: str
    read: int = 0
    rejected: int = 0
    rejects_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "read": self.read, "rejected": self.rejected,
                "rejects_path": self.rejects_path}


@dataclass
class ImportSummary:
    """What an import did: ``read`` = ``inserted`` + ``updated`` + ``unchanged`` + ``rejected``
    for an import that takes its good rows, and ``refused`` for an all-or-nothing import
    that took nothing because some rows were bad (its ``inserted``, ``updated`` and
    ``unchanged`` are then 0).

    ``rejects`` holds the first rejected rows (dossier imports keep up to a thousand; the
    rejects file has them all); ``rejects_path`` is the rejects file of the first input that
    has one. Dossier imports also report the ``source`` system, their ``files``, the store
    ``version`` the import created (None when it changed nothing) and the ``seconds`` it
    took. ``extra`` holds the keys one kind of import adds to its JSON (a survey's rates,
    the units a published-results file added, and the names older versions gave the counts,
    kept so that the JSON of every command and API stays as it was)."""

    kind: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: str | None = None
    rejects: list[Reject] = field(default_factory=list)
    refused: bool = False
    source: str | None = None
    files: list[FileSummary] = field(default_factory=list)
    version: int | None = None
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def reject(self, line: int, reason: str, values: dict[str, Any] | None = None) -> None:
        """Count one rejected row."""
        self.rejects.append(Reject(line=line, reason=reason, values=dict(values or {})))
        self.rejected += 1

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: getattr(self, k) for k in COUNTS}
        data["rejects_path"] = self.rejects_path
        data["kind"] = self.kind
        if self.source is not None:
            data["source"] = self.source
            data["files"] = [f.to_json() for f in self.files]
            data["version"] = self.version
        if self.seconds is not None:
            data["seconds"] = round(self.seconds, 3)
        data.update(self.extra)
        data["rejects"] = [r.to_json() for r in self.rejects]
        return data


def rejects_path_for(path: Path) -> Path:
    """``data.csv`` → ``data.csv.rejects.csv``, next to the input."""
    return path.with_name(path.name + ".rejects.csv")


def write_rejects(source: Path, rejects: Sequence[Reject], columns: Iterable[str]) -> str | None:
    """Write ``<source>.rejects.csv`` beside the input (UTF-8 with a byte-order mark, so
    Excel shows Vietnamese correctly): line, reason (headed in the reader's language, as the
    dossier import's rejects file is) and the row's values. With no rejects,
    a file left by an earlier run is removed. Returns the path written, or None."""
    target = rejects_path_for(Path(source))
    if not rejects:
        target.unlink(missing_ok=True)
        return None
    with target.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow([_("line"), _("reason"), *columns])
        for r in rejects:
            w.writerow([r.line, r.reason, *(csv_safe(r.values.get(c, "")) for c in columns)])
    return str(target)
