"""Step 1 of a dossier import, **stage**: every input read into the import's DuckDB
connection as text, with each row's line number (see :mod:`chiso.dossiers.ingest`)."""

from __future__ import annotations

import csv
import json
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import duckdb

from chiso import sheets
from chiso.dossiers.duck import Tracker, count, lit
from chiso.dossiers.schema import Alias, RecordType, header_key
from chiso.errors import ChisoError
from chiso.i18n import _

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class Staged:
    """One input read into the import connection."""

    index: int
    label: str
    format: str
    #: Input path (None for in-memory rows): its rejects file goes next to it.
    path: Path | None
    #: Header names as written, and the matching text columns of table ``raw_<index>``.
    headers: list[str]
    columns: list[str]
    #: Canonical field → (position in ``headers``, alias used or None).
    mapping: dict[str, tuple[int, Alias | None]]
    #: The CSV file read and its delimiter (the temporary CSV of an XLSX sheet); the share of
    #: the progress bar its reading has.
    csv: Path | None = None
    delim: str | None = None
    span: tuple[float, float] = (0.0, 0.0)
    #: A CSV file is read by the check itself (``read_csv(...)``, see
    #: :meth:`Stager.stream_sql`) instead of being copied to table ``raw_<index>`` first.
    streamed: bool = False
    #: Line of the first row (1: JSON, 2: under a header); ``skips``: whether lines the reader
    #: skipped (blank, unreadable) shift later rows, so that they must be counted from the
    #: file; ``line_column``: the line is the raw table's ``__line`` (XLSX sheet rows).
    first: int = 2
    skips: bool = False
    line_column: bool = False
    #: Name of the table of lines DuckDB could not read (CSV only).
    malformed: str | None = None
    #: Rows of table ``checked`` before this input's (its rows' ``rowid`` minus ``offset``
    #: is their position in the input), and the rows the reader gave (blank ones included).
    offset: int = 0
    records: int = 0
    #: The skipped lines have been counted (table ``skip_<index>`` when there are any).
    skips_known: bool = False
    #: The file's lines, being counted in a thread (a streamed CSV file).
    lines: LineCount | None = None
    skipped: bool = False
    read: int = 0
    rejected: int = 0

    @property
    def raw(self) -> str:
        return f"raw_{self.index}"

    def header_of(self, name: str) -> str:
        return self.headers[self.mapping[name][0]]


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ChisoError(
            _("{file}: unsupported file type “{ext}” (use .csv, .xlsx, .json or .jsonl)").format(
                file=path, ext=path.suffix
            )
        )
    return fmt


def map_header(rt: RecordType, headers: Sequence[str], label: str) -> dict[str, tuple[int, Alias | None]]:
    """Match header names to fields; refuse the file when a required field is missing or a
    field is given twice. Columns that match nothing are kept in the rejects file only."""
    lookup: dict[str, tuple[str, Alias | None]] = {}
    for f in rt.fields:
        lookup[header_key(f.name)] = (f.name, None)
        for a in f.aliases:
            lookup[header_key(a.name)] = (f.name, a)
    mapping: dict[str, tuple[int, Alias | None]] = {}
    for i, name in enumerate(headers):
        hit = lookup.get(header_key(name))
        if hit is None:
            continue
        fname, alias = hit
        if fname in mapping:
            raise ChisoError(
                _("{file}: the columns “{first}” and “{second}” both give {field}; keep one").format(
                    file=label, first=headers[mapping[fname][0]], second=name, field=fname
                )
            )
        mapping[fname] = (i, alias)
    missing = [name for name in rt.required if name not in mapping]
    if missing:
        described = []
        for name in missing:
            aliases = [a.name for a in rt.get(name).aliases]
            described.append(name + (" (" + _("or") + " " + ", ".join(aliases) + ")" if aliases else ""))
        raise ChisoError(
            _("{file} was not imported: the header lacks the required column(s) {columns}").format(
                file=label, columns="; ".join(described)
            )
        )
    return mapping


def _sniff_csv(path: Path) -> tuple[list[str], str]:
    """Header names and delimiter. Excel in a Vietnamese locale saves ``;``-separated CSV
    (the decimal separator is the comma), so the delimiter is whichever of ``,`` ``;`` tab
    splits the header into the most fields."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise ChisoError(_("{file} is empty").format(file=path))
    first_line = head.split(b"\n", 1)[0]
    try:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise UnicodeDecodeError("utf-16", head, 0, 2, "UTF-16 byte-order mark")
        first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ChisoError(
            _("{file} is not UTF-8 text: save it as “CSV UTF-8” and import it again").format(file=path)
        ) from None
    text = head.decode("utf-8-sig", errors="replace")
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max((",", ";", "\t"), key=lambda d: len(next(csv.reader([first], delimiter=d))))
    headers = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
    return headers, delimiter


def _estimate_rows(path: Path) -> int:
    """Rows in a text file, estimated from its size and the length of its first lines."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        sample = fh.read(1 << 18)
    lines = sample.count(b"\n")
    if len(sample) >= size or lines < 2:
        return max(lines, 1)
    return max(1, int(size / (len(sample) / lines)))


def _count_lines(path: Path) -> int:
    """The lines of a file (C speed: 0.2 s for 320 MB), a last one without a line end included."""
    lines = 0
    last = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last and last != b"\n":
        lines += 1  # a last line without a line end
    return lines


class LineCount:
    """The lines of a file, counted in a thread of its own beside the import's statements.
    A daemon thread: an import that stops early (an unreadable file, Ctrl-C) does not wait
    at its exit for the count of a large file."""

    def __init__(self, path: Path):
        self._done = threading.Event()
        self._lines = 0
        self._error: BaseException | None = None
        threading.Thread(target=self._count, args=(path,), name="chiso-lines", daemon=True).start()

    def _count(self, path: Path) -> None:
        try:
            self._lines = _count_lines(path)
        except BaseException as exc:  # handed to the reader of the result
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> int:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._lines


def _blank_lines(path: Path, records: int, lines: int | None = None) -> list[int]:
    """Physical numbers of the blank lines of a file DuckDB read as ``records`` lines (rows,
    unreadable lines and the header). DuckDB skips blank lines, shifting later rows.

    Counting newlines (``lines``, when counted already) settles the usual case: as many lines
    as records means no blank line. Only otherwise is the file walked line by line."""
    if lines is None:
        lines = _count_lines(path)
    if lines <= records:
        return []
    blanks = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip(b"\r\n"):
                blanks.append(number)
    return blanks


def _json_layout(path: Path) -> str:
    """``array`` when the file starts with ``[`` (after a BOM and white space), else one
    object per line. DuckDB's own detection reads a BOM-prefixed array as a single value."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return "array" if head.startswith(b"[") else "newline_delimited"


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        # Codes and yyyyMMddHHmmss dates typed as numbers come back as floats.
        return str(int(value))
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")



class Stager:
    """The staging part of :class:`chiso.dossiers.ingest.Batch`: ``stage_files`` or
    ``stage_rows`` fill ``staged`` with one :class:`Staged` per input (table ``raw_<i>``)."""

    rt: RecordType
    con: duckdb.DuckDBPyConnection
    tracker: Tracker
    staged: list[Staged]
    workdir: Path
    #: Whether a CSV file is read by the check itself (tests turn it off to compare).
    stream_csv: bool = True

    def stage_files(self, paths: Sequence[Path]) -> None:
        """Read every file; refuse them all, before reading any, if one header is wrong."""
        plans: list[tuple[Path, str, list[str] | None, str | None, int]] = []
        for path in paths:
            path = Path(path)
            if not path.is_file():
                raise ChisoError(_("{file}: no such file").format(file=path))
            fmt = detect_format(path)
            if fmt == "csv":
                headers, delim = _sniff_csv(path)
                sheets.Limits(path).check(1, headers)
                map_header(self.rt, headers, str(path))
                plans.append((path, fmt, headers, delim, _estimate_rows(path)))
            elif fmt == "xlsx":
                sheets.check_xlsx(path)  # a file that unpacks to gigabytes is refused unread
                headers, rows = self._xlsx_header(path)
                sheets.Limits(path).check(1, headers)
                map_header(self.rt, headers, str(path))
                plans.append((path, fmt, headers, None, rows))
            else:
                plans.append((path, fmt, None, None, _estimate_rows(path)))
        self.tracker.total = max(1, sum(p[4] for p in plans))
        sizes = [max(1, p[4]) for p in plans]
        start = 0.0
        for i, (path, fmt, header, sep, _rows) in enumerate(plans):
            span = 0.4 * sizes[i] / sum(sizes)
            lo, hi = start, start + span
            start = hi
            if fmt == "csv":
                assert header is not None and sep is not None  # sniffed above for every CSV
                self._stage_csv(i, path, header, sep, lo, hi)
            elif fmt == "xlsx":
                self._stage_xlsx(i, path, lo, hi)
            else:
                self._stage_json(i, path, str(path), fmt, lo, hi)

    def stage_rows(self, rows: Sequence[dict[str, Any]], label: str = "rows") -> None:
        """In-memory rows (a JSON array sent to the API): the same path as a JSON file."""
        path = self.workdir / "rows.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=_json_default))
                fh.write("\n")
        self.tracker.total = max(1, len(rows))
        self._stage_json(0, path, label, "jsonl", 0.0, 0.4, keep_path=False)

    def _read_error(self, label: str, exc: Exception) -> ChisoError:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ChisoError(_("{file} cannot be read: {error}").format(file=label, error=message))

    def _stage_csv(self, i: int, path: Path, headers: list[str], delim: str, lo: float, hi: float,
                   *, line_column: bool = False, label: str | None = None, origin: Path | None = None) -> None:
        """Plan the reading of a CSV file. A file of records is not read here but by the check
        (:meth:`stream_sql`): copying every cell as text to a table first took as long as
        parsing the file (1.8 s of 3 s at 2 million rows) and held the text in memory. The
        XLSX sheet converted to CSV is read into ``raw_<i>`` at once (its ``__line`` column
        gives the sheet rows)."""
        label = label or str(path)
        st = Staged(i, label, "xlsx" if line_column else "csv", origin if origin is not None else path,
                    headers, [f"c{k}" for k in range(len(headers))], map_header(self.rt, headers, label),
                    malformed=f"rej_{i}", csv=path, delim=delim, span=(lo, hi), line_column=line_column,
                    skips=not line_column)
        if line_column or not self.stream_csv:
            self._read_raw(st, store_rejects=True)
        else:
            st.streamed = True
            # The lines are counted while the check reads the file (DuckDB leaves a quarter of
            # two cores idle then), in case a rejected row needs its line (``_count_skips``):
            # 0.2 s after the check at 2 million rows otherwise.
            st.lines = LineCount(path)
        self.staged.append(st)

    def stream_sql(self, st: Staged, *, store_rejects: bool = True) -> str:
        """``read_csv`` of a CSV input with an explicit dialect, every column as text. With
        ``store_rejects`` the lines DuckDB cannot read go to table ``rej_<i>``; without, they
        are skipped all the same (a second read gives the same rows)."""
        assert st.csv is not None and st.delim is not None
        spec = {c: "VARCHAR" for c in st.columns}
        if st.line_column:
            spec = {"__line": "BIGINT"} | spec
        spec_sql = "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in spec.items()) + "}"
        rejects = (f", store_rejects = true, rejects_table = 'rej_{st.index}', rejects_scan = 'scan_{st.index}'"
                   if store_rejects else ", ignore_errors = true")
        return (
            f"read_csv({lit(str(st.csv))}, auto_detect = false, "
            f"header = true, delim = {lit(st.delim)}, quote = '\"', escape = '\"', columns = {spec_sql}, "
            f"encoding = 'utf-8'{rejects}"
            # 16 MiB buffers read a large file on all cores (measured on DuckDB 2.0: 0.32 s
            # for 117 MB against 0.65 s with the default); a small file keeps the default.
            + (f", buffer_size = {16 << 20}" if st.csv.stat().st_size >= 64 << 20 else "")
            + ")"
        )

    def _read_raw(self, st: Staged, *, store_rejects: bool) -> None:
        """Table ``raw_<i>``: the cells of a CSV input as text, in file order (``rowid``)."""
        try:
            self.tracker.execute(self.con, f"CREATE TABLE {st.raw} AS SELECT * FROM "
                                 f"{self.stream_sql(st, store_rejects=store_rejects)}", *st.span)
        except duckdb.Error as exc:
            raise self._read_error(st.label, exc) from exc

    def read_originals(self, st: Staged) -> None:
        """Make sure table ``raw_<i>`` holds the input's cells, reading a streamed CSV again.

        Only rows rejected after the check (a duplicate key, a record of a unit outside the
        importer's scope) need it: the check keeps the cells of the rows it rejects."""
        if not st.streamed or count(self.con, f"SELECT count(*) FROM duckdb_tables() WHERE table_name = {lit(st.raw)}"):
            return
        self._read_raw(st, store_rejects=False)
        if count(self.con, f"SELECT count(*) FROM {st.raw}") != st.records:
            raise ChisoError(_("{file} changed while it was being imported; import it again").format(file=st.label))

    def line_sql(self, st: Staged, rid: str) -> tuple[str, str]:
        """SQL for the line of the row of table ``checked`` whose ``rowid`` is ``rid``, and
        the join it needs.

        Row n (0-based, in file order: ``rowid`` minus the input's offset) is on line
        ``n + first`` plus one for every line the reader skipped before it. With skipped
        lines s₁ < s₂ < … the rows from ``sᵢ − i − first + 1`` on come after the i-th skip,
        so an ASOF join on that threshold gives the count. The skipped lines are counted only
        when a line number is needed (a rejected row): a clean import never pays for it."""
        n = f"({rid} - {st.offset})"
        if st.line_column:
            return f"x{st.index}.__line", f"JOIN {st.raw} x{st.index} ON x{st.index}.rowid = {n}"
        if st.skips and not st.skips_known:
            self._count_skips(st)
        if st.skipped:
            return (f"{n} + {st.first} + coalesce(s{st.index}.n, 0)",
                    f"ASOF LEFT JOIN skip_{st.index} s{st.index} ON {n} >= s{st.index}.t")
        return f"{n} + {st.first}", ""

    def _count_skips(self, st: Staged) -> None:
        """Table ``skip_<i>``: each line the reader skipped, as (threshold, count so far)."""
        st.skips_known = True
        assert st.path is not None
        skipped = set()
        if st.malformed:
            skipped |= {line for (line,) in self.con.execute(f"SELECT DISTINCT line FROM {st.malformed}").fetchall()}
        counted = st.lines.result() if st.lines is not None else None
        skipped |= set(_blank_lines(st.path, st.records + len(skipped) + st.first - 1, counted))
        if not skipped:
            return
        thresholds: dict[int, int] = {}
        for n, s in enumerate(sorted(skipped), 1):
            thresholds[s - n - st.first + 1] = n
        self.con.execute(
            f"CREATE TABLE skip_{st.index} AS SELECT unnest($1::BIGINT[]) AS t, unnest($2::BIGINT[]) AS n",
            [list(thresholds), list(thresholds.values())],
        )
        st.skipped = True

    def _xlsx_header(self, path: Path) -> tuple[list[str], int]:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise self._read_error(str(path), exc) from exc
        try:
            ws = wb.worksheets[0]
            first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None)
            if first is None:
                raise ChisoError(_("{file} is empty").format(file=path))
            headers = [_cell_text(v).strip() for v in first]
            while headers and not headers[-1]:
                headers.pop()
            return headers, max(1, (ws.max_row or 2) - 1)
        finally:
            wb.close()

    def _stage_xlsx(self, i: int, path: Path, lo: float, hi: float) -> None:
        """First sheet → temporary CSV with each row's sheet row number → the CSV path.

        openpyxl reads row by row in Python (XLSX is zipped XML; there is no faster reader
        among the allowed dependencies); the CSV writer and DuckDB take it from there."""
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        target = self.workdir / f"sheet_{i}.csv"
        try:
            ws = wb.worksheets[0]
            rows = ws.iter_rows(values_only=True)
            headers = [_cell_text(v).strip() for v in next(rows, ())]
            while headers and not headers[-1]:
                headers.pop()
            width = len(headers)
            total = max(1, (ws.max_row or 2) - 1)
            limits = sheets.Limits(path)
            with open(target, "w", encoding="utf-8", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(["__line"] + [f"c{k}" for k in range(width)])
                for number, row in enumerate(rows, 2):
                    limits.check(number, row)
                    cells = [_cell_text(v) for v in row[:width]]
                    if not any(c.strip() for c in cells):
                        continue
                    out.writerow([number] + cells + [""] * (width - len(cells)))
                    if number % 10000 == 0:
                        self.tracker.report(lo + (hi - lo) * 0.8 * min(1.0, number / total))
        except ChisoError:
            raise
        except Exception as exc:
            raise self._read_error(str(path), exc) from exc
        finally:
            wb.close()
        self._stage_csv(i, target, headers, ",", lo + (hi - lo) * 0.8, hi, line_column=True,
                        label=str(path), origin=path)

    def _stage_json(self, i: int, path: Path, label: str, fmt: str, lo: float, hi: float,
                    *, keep_path: bool = True) -> None:
        json_format = "newline_delimited" if fmt == "jsonl" else _json_layout(path)
        try:
            self.tracker.execute(
                self.con,
                f"CREATE TABLE obj_{i} AS SELECT json AS j FROM read_json_objects({lit(str(path))}, "
                f"format = {lit(json_format)})",
                lo, lo + (hi - lo) * 0.6,
            )
        except duckdb.Error as exc:
            raise self._read_error(label, exc) from exc
        # Keys in the order they first appear (the first object's order, then the rest).
        first = self.con.execute(
            f"SELECT json_keys(j) FROM obj_{i} WHERE json_type(j) = 'OBJECT' ORDER BY rowid LIMIT 1"
        ).fetchone()
        if first is None and not count(self.con, f"SELECT count(*) FROM obj_{i}"):
            # An empty array imports nothing; read it as the canonical header with no rows.
            keys = list(self.rt.required)
        else:
            keys = list(first[0]) if first else []
        others = self.con.execute(
            f"SELECT DISTINCT k FROM (SELECT unnest(json_keys(j)) AS k FROM obj_{i} "
            f"WHERE json_type(j) = 'OBJECT') ORDER BY k"
        ).fetchall()
        keys += [k for (k,) in others if k not in set(keys)]
        mapping = map_header(self.rt, keys, label)
        columns = [f"c{k}" for k in range(len(keys))]
        # One pass over each object for all keys (five times faster than a ``->>`` per key);
        # a nested value (a list, an object) is kept as its JSON text for the rejects file.
        paths = "[" + ", ".join(lit("$." + json.dumps(k)) for k in keys) + "]"
        select = "".join(f", l[{n + 1}] AS {c}" for n, c in enumerate(columns))
        values = f", json_extract_string(j, {paths}) AS l" if keys else ""
        self.tracker.execute(
            self.con,
            f"CREATE TABLE raw_{i} AS SELECT __pos{select} FROM "
            f"(SELECT rowid AS __pos{values} FROM obj_{i}) ORDER BY __pos",
            lo + (hi - lo) * 0.6, hi,
        )
        self.con.execute(f"DROP TABLE obj_{i}")
        # Rows are in their order in the file (``rowid``); only JSON Lines can have lines that
        # are not records (blank ones).
        self.staged.append(Staged(i, label, fmt, path if keep_path else None, keys, columns, mapping,
                                  first=1, skips=fmt == "jsonl" and keep_path))
