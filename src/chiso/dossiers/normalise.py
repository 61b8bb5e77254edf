"""Step 2 of a dossier import, **check**: every value typed in one vectorised SQL statement
per input, each rejected row given exactly one reason, duplicates within a file and unit
codes resolved against the registry on the day the record was received (see
:mod:`chiso.dossiers.ingest`)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, Sequence

import duckdb

from chiso.clock import local_now
from chiso.dossiers.duck import Tracker, count, lit, str_list
from chiso.dossiers.schema import EXTRA_TIMESTAMP_FORMATS, FALSE_WORDS, TRUE_WORDS, Alias, Field, RecordType
from chiso.dossiers.stage import Staged, Stager

#: A registry row for unit resolution: (registry code, official code, valid_from, valid_to),
#: validity half-open like ``chiso.units.models.Unit``.
UnitRow = tuple[str, str | None, date | None, date | None]

# Characters trimmed from every cell: spaces, tabs, line ends and the no-break space that
# spreadsheets leave behind.
_WS = "' \t\r\n\u00a0'"

#: Dates outside this range are typing errors (a year 2205, a day number read as a year).
PLAUSIBLE = ("1990-01-01", "2100-01-01")
#: A date further than this after the import is a typing error too (a due date of 2099):
#: no procedure takes a year, and a record cannot be received or finished in the future.
FUTURE_DAYS = 366


#: How a NUL byte is shown in a reason and the rejects file (it cannot be written there).
NUL_SHOWN = "\\0"


def _choice_key(text: str) -> str:
    """How a choice is compared: lower case, no diacritics, ``_`` and ``-`` as spaces."""
    import unicodedata

    plain = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))
    return " ".join(plain.replace("đ", "d").replace("_", " ").replace("-", " ").split())


def _iso_sql(x: str) -> str:
    """ISO 8601 text ``x`` as a naive local timestamp.

    A value with an offset (``Z``, ``+07:00``, ``-0100``...) goes through DuckDB's
    TIMESTAMPTZ cast with the session time zone set to the ``timezone`` setting, which
    converts it to local wall-clock time; a value without one is local time already and takes
    the plain TIMESTAMP cast (four times cheaper)."""
    time_part = f"substr({x}, 12)"
    has_offset = (
        f"(contains({time_part}, '+') OR contains({time_part}, '-') OR suffix({x}, 'Z') OR suffix({x}, 'z'))"
    )
    return f"CASE WHEN {has_offset} THEN try_cast({x} AS TIMESTAMPTZ)::TIMESTAMP ELSE try_cast({x} AS TIMESTAMP) END"


def _timestamp_sql(x: str) -> str:
    """Every accepted spelling of a timestamp (ISO 8601, then the other formats)."""
    return (
        f"coalesce({_iso_sql(x)}, try_strptime({x}, {str_list(EXTRA_TIMESTAMP_FORMATS)}), "
        # "2025-07-01 08:00:00 +07:00": a space before the offset, as some exports write it.
        f"try_cast(regexp_replace({x}, '\\s+([+-]\\d\\d:?\\d\\d)$', '\\1') AS TIMESTAMPTZ)::TIMESTAMP)"
    )


def _boolean_sql(x: str) -> str:
    y = f"lower(strip_accents({x}))"
    return f"CASE WHEN {y} IN {tuple(TRUE_WORDS)} THEN true WHEN {y} IN {tuple(FALSE_WORDS)} THEN false END"


def _list_count_sql(x: str) -> str:
    """The number of entries of a list written as JSON (``DanhSachHoSoBoSung``: one entry per
    supplement request; ``[]`` or an empty cell: none); a plain number is read as the count,
    anything else is unreadable (NULL)."""
    array = f"CASE WHEN json_type({x}::JSON) = 'ARRAY' THEN json_array_length({x}::JSON)::DOUBLE END"
    return f"coalesce(CASE WHEN json_valid({x}) THEN {array} END, try_cast(replace({x}, ',', '.') AS DOUBLE))"


#: How ``checked.__why`` reads back (``json_transform``).
_REJECT_JSON = ('{"why": {"code": "VARCHAR", "col": "VARCHAR", "val": "VARCHAR", "other": "VARCHAR"}, '
                '"raw": ["VARCHAR"]}')


def choice_type(f: Field) -> str:
    """The ENUM type (``choice_<field>``, made by ``check``) a ``choice`` field's values take
    in table ``checked``: a byte a row instead of a string, and written to Parquet as the
    dictionary it is (a tenth of the time of a VARCHAR column; read back as VARCHAR)."""
    return f"choice_{f.name}"


def choice(f: Field, value: str) -> str:
    """SQL: the stored value ``value`` of a ``choice`` field, typed (see ``choice_type``)."""
    return f"{lit(value)}::{choice_type(f)}"


def _fast_sql(f: Field, x: str, alias: Alias | None) -> str:
    """The value of ``x`` when it is written the usual way (cheap), else NULL.

    Parsing is split in two because it dominates the import: this fast path reads nearly
    every cell; ``_full_sql`` reads the rest, in a later projection and only for the cells
    the fast path left NULL. (A single ``coalesce`` would not do: DuckDB evaluates a CASE
    argument of ``coalesce`` for every row, and nesting the fallbacks in CASE expressions
    repeats them in the SQL, whose planning then costs 50 ms for a 10-row file.)"""
    if alias is not None and alias.decode == "payment_code":
        # DuocThanhToanTrucTuyen: 1 national portal, 2 provincial gateway, anything else: no.
        return f"({x} IN ('1', '2'))"
    if alias is not None and alias.decode == "satisfied_flag":
        return f"NULL::{choice_type(f)}"
    if alias is not None and alias.decode == "list_count":
        return _list_count_sql(x)
    if f.type == "timestamp":
        return _iso_sql(x)
    if f.type == "date":
        return f"try_cast({x} AS DATE)"
    if f.type == "boolean":
        exact = {"1": "true", "0": "false", "true": "true", "false": "false", "TRUE": "true", "FALSE": "false"}
        return f"CASE {x} " + " ".join(f"WHEN {lit(k)} THEN {v}" for k, v in exact.items()) + " END"
    if f.type == "number":
        return f"try_cast({x} AS DOUBLE)"
    if f.type == "choice":
        return f"CASE {x} " + " ".join(f"WHEN {lit(k)} THEN {choice(f, v)}" for k, v in f.choices.items()) + " END"
    raise ValueError(f.type)


def _full_sql(f: Field, x: str, alias: Alias | None) -> str:
    """The value of ``x`` in any accepted spelling (NULL: unreadable)."""
    if alias is not None and alias.decode == "payment_code":
        return f"({x} IN ('1', '2'))"
    if alias is not None and alias.decode == "satisfied_flag":
        b = _boolean_sql(x)
        return f"CASE WHEN {b} THEN {choice(f, 'satisfied')} WHEN NOT {b} THEN {choice(f, 'dislike')} END"
    if alias is not None and alias.decode == "list_count":
        return _list_count_sql(x)
    if f.type == "timestamp":
        return _timestamp_sql(x)
    if f.type == "date":
        return f"coalesce(try_cast({x} AS DATE), ({_timestamp_sql(x)})::DATE)"
    if f.type == "boolean":
        return _boolean_sql(x)
    if f.type == "number":
        # Vietnamese writes a decimal comma ("1,5").
        return f"try_cast(replace({x}, ',', '.') AS DOUBLE)"
    if f.type == "choice":
        # Compared without case, diacritics, "_" or "-".
        arms = " ".join(f"WHEN {lit(_choice_key(k))} THEN {choice(f, v)}" for k, v in f.choices.items())
        normalised = (
            f"trim(regexp_replace(lower(strip_accents(replace(replace({x}, 'đ', 'd'), 'Đ', 'D'))), "
            f"'[\\s_-]+', ' ', 'g'))"
        )
        return f"CASE {normalised} {arms} END"
    raise ValueError(f.type)


def _retry_sql(f: Field, name: str, alias: Alias | None) -> str:
    """Field ``name``'s value from its fast parse ``q_`` and, where that failed on a
    non-empty cell, from every accepted spelling of the cell and of the cell trimmed."""
    x = f"x_{name}"
    return (
        f"CASE WHEN q_{name} IS NOT NULL OR {x} IS NULL THEN q_{name} "
        f"ELSE coalesce({_full_sql(f, x, alias)}, {_full_sql(f, f'trim({x}, {_WS})', alias)}) END"
    )


def _edges_sql(c: str) -> str:
    """The first and last characters' code points of cell ``c`` (see ``_cell_sql``), as
    ``__s_<c>`` and ``__e_<c>``: a projection of their own, so that each is worked out once
    (a third of the cost of the trimming test); the last by index, a quarter cheaper than
    ``right(c, 1)``."""
    return f"ascii({c}) AS __s_{c}, ascii({c}[-1]) AS __e_{c}"


def _cell_sql(c: str) -> str:
    """A text field's cell ``c`` as stored: trimmed, NULL when empty.

    Trimming every cell with a character set costs a third of the whole check, so only the
    text fields, which are stored as they are, are trimmed, and only when their first or last
    character is a space, a control character or a no-break space (``_edges_sql``). Other
    fields are parsed as they are and trimmed only when that fails (see ``_retry_sql``)."""
    edge = f"(r.__s_{c} <= 32 OR r.__s_{c} = 160 OR r.__e_{c} <= 32 OR r.__e_{c} = 160)"
    return f"CASE WHEN {edge} THEN nullif(trim(r.{c}, {_WS}), '') ELSE nullif(r.{c}, '') END"


def _value(f: Field) -> str:
    """The column holding field ``f``'s parsed value in the normalising SELECT."""
    return f"x_{f.name}" if f.type == "text" else f"p_{f.name}"


def _blank(f: Field, name: str) -> str:
    """SQL: the cell of field ``name`` is empty (or only white space)."""
    if f.type == "text":
        return f"x_{name} IS NULL"
    return f"(x_{name} IS NULL OR (p_{name} IS NULL AND trim(x_{name}, {_WS}) = ''))"


def _struct(code: str, col: str | None = None, val: str = "NULL", other: str = "NULL", *,
            col_sql: str | None = None) -> str:
    """SQL for a reason: ``col`` is a header name, or ``col_sql`` an expression giving it."""
    col_expr = col_sql if col_sql is not None else (lit(col) if col is not None else "NULL")
    return (
        f"struct_pack(code := {lit(code)}, col := ({col_expr})::VARCHAR, "
        f"val := ({val})::VARCHAR, other := ({other})::VARCHAR)"
    )


def _fmt_ts(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m-%d %H:%M:%S')"



class Normaliser(Stager):
    """The checking part of :class:`chiso.dossiers.ingest.Batch`: ``check`` turns the staged
    inputs into table ``checked`` (typed values and ``__why``, the reason or NULL) and
    ``rejected`` (the reasons and cells of the rejected rows)."""

    rt: RecordType
    con: duckdb.DuckDBPyConnection
    tracker: Tracker
    staged: list[Staged]
    units: list[Any]
    unknown_unit: str
    #: Rows were rejected after the check (see ``rejected``): ``checked.__why`` no longer tells.
    late: bool = False

    def check(self) -> None:
        """Type every value and give each rejected row one reason: table ``checked``, with
        ``__hash``, the row hash of its stored values (:func:`row_hash_sql`), and
        ``__why``, NULL for a good row, else its reason and its cells as written, as JSON: one
        text column, nearly all NULL, takes a fifth of the memory of a STRUCT and a list
        (their child columns are stored for every row); table ``rejected`` has them apart.

        One statement per input makes the table from its text: the parse, the reasons,
        the unit resolved on the received day (a join against ``unit_spans``) and the
        hash; a CSV file is read by that same statement (``Stager.stream_sql``). Its rows
        keep the input's order, so a row's ``rowid`` gives its position in the input and,
        when a rejected row needs it, its line (``Stager.line_sql``). Rows whose cells are
        all empty are dropped after the statement (filtering them in it would shift the
        positions). The duplicates are then marked on the few rows concerned. Writing the
        typed rows once instead of copying the text first, then a checked copy, then a hashed
        copy of the accepted rows saves half of the import and the memory of those copies."""
        rt = self.rt
        n = len(self.staged)
        key = rt.key
        uf, ud = rt.unit_field, rt.unit_date
        # The unit of each row, resolved without a join (a join does not keep the rows in
        # their order): the code's place in an ENUM type of the registry's codes, then the
        # span of days holding the received day among that code's spans (``_resolve_units``).
        resolve = unit_cases = ""
        if uf:
            spans = self._resolve_units()
            inside = [f"(b.__ud >= getvariable('unit_lo{j}')[b.__ui] AND b.__ud < getvariable('unit_hi{j}')[b.__ui])"
                      for j in range(1, spans + 1)]
            code = " ".join(f"WHEN {c} THEN getvariable('unit_code{j}')[b.__ui]" for j, c in enumerate(inside, 1))
            index = "enum_code(try_cast(lower(b.{uf}) AS unit_key))::INTEGER + 1" if spans else "NULL::INTEGER"
            resolve = (
                f"SELECT b.*, {f'CASE {code} END' if spans else 'NULL::VARCHAR'} AS __ucode, "
                f"coalesce({' OR '.join(inside) or 'false'}, false) AS __umatched FROM ("
                f"SELECT b.*, {index.format(uf=uf)} AS __ui, b.{ud}::DATE AS __ud FROM ({{}}) b) b"
            )
            unit_col = self._header_case(uf)
            shown = f"strftime(b.{ud}, '%Y-%m-%d')"
            unit_cases = (
                f"WHEN NOT b.__umatched THEN {_struct(self.unknown_unit, None, f'b.{uf}', col_sql=unit_col)} "
                f"WHEN b.__ucode IS NULL THEN {_struct('unit_not_on_date', None, f'b.{uf}', shown, col_sql=unit_col)} "
            )
        fields = [f.name for f in rt.fields]
        # A row whose unit is not resolved is rejected: its stored value does not matter.
        cols = [f"b.__ucode AS {uf}" if f == uf else f"b.{f}" for f in fields]
        for f in rt.fields:
            if f.type == "choice":
                self.con.execute(f"CREATE TYPE {choice_type(f)} AS ENUM ({', '.join(lit(v) for v in f.allowed())})")
        rows = 0
        for k, st in enumerate(self.staged):
            verb = "CREATE TABLE checked AS" if k == 0 else "INSERT INTO checked"
            cells = [f"__c{j}" for j in range(len(st.columns))]
            kept = f"[{', '.join(cells)}]::VARCHAR[]"  # the cells as written, for the rejects file
            lo, hi = (st.span[0] if st.streamed else 0.4 + 0.3 * k / n), 0.4 + 0.3 * (k + 1) / n
            typed = self._normalise_sql(st)
            sql = f"""{verb} SELECT __file, {', '.join(fields)}, {row_hash_sql(rt)} AS __hash,
                CASE WHEN __why IS NOT NULL THEN to_json(struct_pack(why := __why, raw := {kept})) END AS __why FROM (
                SELECT b.__file, {', '.join(cols)},
                  CASE
                    WHEN b.__why IS NOT NULL THEN b.__why
                    {unit_cases}
                  END AS __why{"".join(f", b.{c}" for c in cells)}
                FROM ({resolve.format(typed) if uf else typed}) b)"""
            st.offset = rows
            try:
                self.tracker.execute(self.con, sql, lo, hi)
            except duckdb.Error as exc:
                if st.streamed:  # the file is read here: an unreadable file is refused as a whole
                    raise self._read_error(st.label, exc) from exc
                raise
            rows = count(self.con, "SELECT count(*) FROM checked")
            st.records = rows - st.offset
        self.con.execute("DELETE FROM checked WHERE __why IS NOT NULL AND __why->>'$.why.code' = 'blank'")
        # The rejected rows, apart: table ``rejected`` (file, ``rid``: the row's ``rowid`` in
        # ``checked``, reason, cells). Reasons found later (duplicates, records outside the
        # importer's scope) go there, never into ``checked``: DuckDB may rewrite an updated
        # row at a new ``rowid``, which would lose its position.
        self.con.execute(
            f"CREATE TABLE rejected AS SELECT __file, rid, w.why, w.raw FROM (SELECT __file, rowid AS rid, "
            f"json_transform(__why, '{_REJECT_JSON}') AS w FROM checked WHERE __why IS NOT NULL)"
        )
        # Duplicates of a key within one file: all but the last occurrence are rejected,
        # naming the line that wins, whatever else is wrong with them (only an empty key,
        # which cannot repeat, comes first). Found on a 64-bit hash of the key first, then
        # checked on the text: the hashes sorted, a hash equal to the one before it repeats.
        # Sorting needs less memory than grouping ten million hashes, and time (10 million
        # keys: 0.65 s against 0.8-1.5 s; 2 million: 0.10 s against 0.14 s).
        self.con.execute(
            f"""CREATE TABLE dup_hashes AS SELECT DISTINCT h FROM (
                SELECT h, lag(h) OVER (ORDER BY h) AS before FROM (
                    SELECT hash(__file, {key}) AS h FROM checked WHERE {key} IS NOT NULL))
            WHERE h = before"""
        )
        if count(self.con, "SELECT count(*) FROM dup_hashes"):
            self._mark_duplicates()
        for st in self.staged:
            st.read = count(self.con, f"SELECT count(*) FROM checked WHERE __file = {st.index}")
            if st.malformed:
                st.read += count(self.con, f"SELECT count(DISTINCT line) FROM {st.malformed}")
        # The estimate made from file sizes gives way to the real count.
        self.tracker.total = max(1, sum(st.read for st in self.staged))
        self.tracker.done = min(self.tracker.done, self.tracker.total)

    def _mark_duplicates(self) -> None:
        """Reject all but the last row of each key repeated within a file, naming the line
        of the last (the latest ``rowid``: rows keep the file's order)."""
        key = self.rt.key
        self.con.execute(
            f"""CREATE TABLE dups AS SELECT __file, {key}, max(rowid) AS win, NULL::BIGINT AS line FROM checked
            WHERE {key} IS NOT NULL AND hash(__file, {key}) IN (SELECT h FROM dup_hashes)
            GROUP BY ALL HAVING count(*) > 1"""
        )
        for st in self.staged:
            line, join = self.line_sql(st, "w.rowid")
            self.con.execute(
                f"""UPDATE dups SET line = l.line FROM (
                    SELECT w.rowid AS rid, {line} AS line FROM checked w {join}
                    WHERE w.rowid IN (SELECT win FROM dups WHERE __file = {st.index})) l
                WHERE dups.win = l.rid"""
            )
        dup = _struct("duplicate", None, f"c.{key}", "d.line", col_sql=self._header_case(key).replace("b.__file", "c.__file"))
        self._reject_late(
            f"SELECT c.__file, c.rowid AS rid, {dup} AS why FROM checked c JOIN dups d "
            f"ON d.__file = c.__file AND d.{key} = c.{key} AND c.rowid < d.win", replace=True)

    def _reject_late(self, rows: str, *, replace: bool) -> None:
        """Add ``rows`` (``__file``, ``rid``, ``why``) to table ``rejected``; with ``replace``
        their reason replaces one the check gave, else such rows keep theirs."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE late AS {rows}")
        if replace:
            self.con.execute("UPDATE rejected SET why = l.why FROM late l WHERE l.rid = rejected.rid")
        self.con.execute("INSERT INTO rejected SELECT __file, rid, why, NULL FROM late "
                         "WHERE rid NOT IN (SELECT rid FROM rejected)")
        self.late = True

    def accepted_sql(self, alias: str = "") -> str:
        """SQL: the row of table ``checked`` (as ``alias``) is accepted."""
        prefix = f"{alias}." if alias else ""
        if not self.late:
            return f"{prefix}__why IS NULL"
        return f"{prefix}__why IS NULL AND {prefix}rowid NOT IN (SELECT rid FROM rejected)"

    def refuse_foreign(self, source: str, files: Sequence[Path], allowed: Sequence[str]) -> None:
        """For an import limited to some units: reject rows that would overwrite a stored
        record of a unit outside them (same source and key), with the words used for any
        unit outside scope, so nothing tells whether that record exists."""
        rt = self.rt
        if not rt.unit_field or not files:
            return
        key, uf = rt.key, rt.unit_field
        stored = " UNION ALL ".join(
            f"SELECT {key}, {uf} FROM read_parquet({lit(str(path))}) WHERE source = {lit(source)} "
            f"AND {key} IN (SELECT {key} FROM checked WHERE {self.accepted_sql()})"
            for path in files
        )
        reason = _struct("outside_scope", None, f"c.{uf}", col_sql=self._header_case(uf).replace("b.__file", "c.__file"))
        self.con.execute(
            f"CREATE TABLE foreign_keys AS SELECT DISTINCT {key} FROM ({stored}) "
            f"WHERE {uf} NOT IN (SELECT unnest($1::VARCHAR[]))", [list(allowed)])
        if count(self.con, "SELECT count(*) FROM foreign_keys"):
            self._reject_late(
                f"SELECT c.__file, c.rowid AS rid, {reason} AS why FROM checked c "
                f"WHERE {self.accepted_sql('c')} AND c.{key} IN (SELECT {key} FROM foreign_keys)", replace=False)

    def _normalise_sql(self, st: Staged) -> str:
        """SELECT typing the columns of one staged input, with one reason per bad row."""
        rt = self.rt
        present = [f for f in rt.fields if f.name in st.mapping]
        col = {f.name: st.columns[st.mapping[f.name][0]] for f in present}
        alias = {f.name: st.mapping[f.name][1] for f in present}
        # Rows whose cells are all empty are marked "blank" and dropped by ``check`` (AND
        # stops at the first filled cell, so a normal row costs one comparison). A row of
        # spaces is not empty: it is rejected.
        blank = " AND ".join(f"coalesce(__c{j}, '') = ''" for j in range(len(st.columns))) or "true"
        # The first projection gives each field's text (x_) and its usual spelling's value
        # (q_); the second the value (p_), retrying the other spellings where needed; the
        # third the stored values and the reason. Text fields are their own value. Every
        # cell is carried along as written (__c0...) for the rejects file.
        cells = [f"__c{j}" for j in range(len(st.columns))]
        inner = [f"{st.index} AS __file", *(f"r.{c} AS __c{j}" for j, c in enumerate(st.columns))]
        middle = ["__file", *cells]
        for f in present:
            cell = f"r.{col[f.name]}"
            if f.type == "text":
                inner.append(f"{_cell_sql(col[f.name])} AS x_{f.name}")
                middle.append(f"x_{f.name}")
            else:
                inner += [f"{cell} AS x_{f.name}", f"{_fast_sql(f, cell, alias[f.name])} AS q_{f.name}"]
                middle += [f"x_{f.name}", f"{_retry_sql(f, f.name, alias[f.name])} AS p_{f.name}"]
        values = []
        for f in rt.fields:
            sql_type = choice_type(f) if f.type == "choice" else f.sql_type
            if f.name in st.mapping:
                # A NULL value is either a blank cell (stored as the field's ``empty``) or an
                # unreadable one, whose row is rejected whatever is stored.
                value = f"coalesce({_value(f)}, ({f.empty})::{sql_type})" if f.empty is not None else _value(f)
                values.append(f"({value})::{sql_type} AS {f.name}")
            else:
                absent = f.absent if f.absent is not None else "NULL"
                values.append(f"({absent})::{sql_type} AS {f.name}")
        # ``cases`` give the reason, in order of precedence; ``suspect`` holds cheap tests, true
        # for every row a case could match, so that the valid rows (nearly all) skip the
        # forty-odd cases (halves the cost of this statement).
        cases: list[str] = []
        suspect: list[str] = []
        horizon = (local_now() + timedelta(days=FUTURE_DAYS)).isoformat(sep=" ", timespec="seconds")
        hdr = {f.name: st.header_of(f.name) for f in present}
        if rt.key in st.mapping:
            cases.append(f"WHEN {_blank(rt.get(rt.key), rt.key)} THEN {_struct('missing_key', hdr[rt.key])}")
            suspect.append(f"x_{rt.key} IS NULL")
        for f in present:
            x, p, h = f"x_{f.name}", f"p_{f.name}", hdr[f.name]
            if f.not_empty:
                cases.append(f"WHEN {_blank(f, f.name)} THEN {_struct('missing_value', h)}")
                suspect.append(f"{_value(f)} IS NULL")
            if f.type != "text":
                suspect.append(f"({p} IS NULL AND {x} IS NOT NULL)")
                code = {"timestamp": "bad_timestamp", "date": "bad_date", "boolean": "bad_boolean",
                        "number": "bad_number", "choice": "bad_choice"}[f.type]
                other = lit(", ".join(f.allowed())) if f.type == "choice" else "NULL"
                if (a := alias[f.name]) is not None and a.decode == "satisfied_flag":
                    code, other = "bad_boolean", "NULL"
                cases.append(f"WHEN {p} IS NULL AND NOT {_blank(f, f.name)} THEN {_struct(code, h, x, other)}")
            if f.type in ("timestamp", "date"):
                implausible = f"{p} < {lit(PLAUSIBLE[0])} OR {p} >= {lit(PLAUSIBLE[1])}"
                cases.append(f"WHEN {implausible} THEN {_struct('implausible_date', h, x)}")
                suspect.append(f"({implausible})")
            if f.type in ("timestamp", "date"):
                future = f"{p} > {lit(horizon)}"
                cases.append(f"WHEN {future} THEN {_struct('future_date', h, x)}")
                suspect.append(f"({future})")
            if f.type == "text":
                # A NUL byte passes through CSV and JSON and truncates the value in other
                # programs (and in PostgreSQL); other control characters are never in a code.
                bad = f"contains({x}, chr(0))" if f.name != rt.key else f"regexp_matches({x}, '[\\x00-\\x1f\\x7f]')"
                cases.append(f"WHEN {bad} THEN {_struct('control_character', h, f'replace({x}, chr(0), {lit(NUL_SHOWN)})')}")
                suspect.append(f"coalesce({bad}, false)")
            if f.minimum is not None:
                cases.append(f"WHEN {p} < {f.minimum} THEN {_struct('negative', h, x)}")
                suspect.append(f"{p} < {f.minimum}")
        for later, earlier in rt.order_checks:
            if later in st.mapping and earlier in st.mapping:
                other = f"{lit(hdr[earlier] + ' (')} || {_fmt_ts(f'p_{earlier}')} || ')'"
                cases.append(
                    f"WHEN p_{later} < p_{earlier} THEN "
                    f"{_struct('order', hdr[later], _fmt_ts(f'p_{later}'), other)}"
                )
                suspect.append(f"p_{later} < p_{earlier}")
        for field, ended, needed in rt.needs:
            if field in st.mapping and needed in st.mapping:
                missing = f"(p_{needed} IS NULL AND {_value(rt.get(field))} IN ({', '.join(lit(v) for v in ended)}))"
                cases.append(f"WHEN {missing} THEN {_struct('missing_finish', hdr[needed], 'NULL', _value(rt.get(field)))}")
                suspect.append(missing)
        suspected = f"WHEN {' OR '.join(suspect)} THEN CASE {' '.join(cases)} END " if cases else ""
        why = f"CASE WHEN {blank} THEN {_struct('blank')} {suspected}END"
        why = f"({why})::STRUCT(code VARCHAR, col VARCHAR, val VARCHAR, other VARCHAR)"
        source = self.stream_sql(st) if st.streamed else st.raw
        edges = [_edges_sql(col[f.name]) for f in present if f.type == "text"]
        if edges:
            source = f"(SELECT *, {', '.join(edges)} FROM {source})"
        return (
            f"SELECT __file, {', '.join(cells + values)}, {why} AS __why "
            f"FROM (SELECT {', '.join(middle)} FROM "
            f"(SELECT {', '.join(inner)} FROM {source} r))"
        )

    def _header_case(self, name: str) -> str:
        """SQL naming field ``name`` as each input's header writes it (inputs differ)."""
        arms = " ".join(f"WHEN {st.index} THEN {lit(st.header_of(name))}" for st in self.staged)
        return f"(CASE b.__file {arms} END)"

    def _resolve_units(self) -> int:
        """Table ``unit_spans``: for each code (lower case) and span of days [lo, hi), the
        registry unit; then the same as an ENUM type ``unit_key`` of the codes and, for the
        j-th span of each code, lists indexed by the code's place in it (variables
        ``unit_lo<j>``, ``unit_hi<j>``, ``unit_code<j>``). Returns the most spans a code
        has (0: an empty registry).

        A given code matches a unit's registry code or its official code (case aside); of
        the matches valid on that day the registry-code match wins. ``code`` is NULL when
        matches exist but none was valid that day; no row when nothing matches. Reading
        the lists costs a row about what the join against ``unit_spans`` did (0.2 µs),
        and keeps the rows in their order, which a join does not."""
        rows = [self._unit_row(u) for u in self.units]
        self.con.execute(
            "CREATE TABLE units AS SELECT unnest($1::VARCHAR[]) AS code, unnest($2::VARCHAR[]) AS official, "
            "unnest($3::DATE[]) AS valid_from, unnest($4::DATE[]) AS valid_to",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]],
        )
        self.con.execute(
            """CREATE TABLE unit_keys AS
               SELECT lower(code) AS key, code, valid_from, valid_to, 1 AS exact FROM units
               UNION ALL
               SELECT lower(official), code, valid_from, valid_to, 0 FROM units
               WHERE official IS NOT NULL AND lower(official) <> lower(code)"""
        )
        # The time line of each key cut at every validity bound of its units: within a span
        # the same units are valid, so one probe day per span resolves the whole span. A
        # row then finds its unit by key and day in one join (no pass over the rows first).
        self.con.execute(
            """CREATE TABLE unit_spans AS
            WITH bounds AS (
                SELECT key, p FROM (SELECT key, valid_from AS p FROM unit_keys
                                    UNION SELECT key, valid_to FROM unit_keys) WHERE p IS NOT NULL),
            spans AS (
                SELECT key, p AS lo, coalesce(lead(p) OVER (PARTITION BY key ORDER BY p), DATE '9999-12-31') AS hi
                FROM bounds
                UNION ALL
                SELECT k.key, DATE '0001-01-01', coalesce(min(b.p), DATE '9999-12-31')
                FROM (SELECT DISTINCT key FROM unit_keys) k LEFT JOIN bounds b ON b.key = k.key GROUP BY k.key)
            SELECT s.key, s.lo, s.hi,
                   arg_max(k.code, k.exact) FILTER (
                       WHERE (k.valid_from IS NULL OR k.valid_from <= s.probe)
                         AND (k.valid_to IS NULL OR k.valid_to > s.probe)) AS code
            FROM (SELECT *, CASE WHEN lo = DATE '0001-01-01' THEN hi - 1 ELSE lo END AS probe FROM spans) s
            JOIN unit_keys k ON k.key = s.key
            GROUP BY s.key, s.lo, s.hi"""
        )
        spans = count(self.con, "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM unit_spans GROUP BY key)")
        if not spans:
            return 0
        self.con.execute("CREATE TYPE unit_key AS ENUM (SELECT DISTINCT key FROM unit_spans ORDER BY key)")
        # The registry codes a row can get, as an ENUM too: two bytes a row in ``checked``
        # instead of a string, and written to Parquet as the dictionary it is (with the same
        # statistics as text, so reads still skip row groups by unit).
        code = "code"
        if count(self.con, "SELECT count(code) FROM unit_spans"):
            self.con.execute("CREATE TYPE unit_code AS ENUM (SELECT DISTINCT code FROM unit_spans "
                             "WHERE code IS NOT NULL ORDER BY code)")
            code = "code::unit_code AS code"
        self.con.execute(
            "CREATE TABLE unit_list AS SELECT key::unit_key AS k, row_number() OVER (PARTITION BY key ORDER BY lo) "
            f"AS j, lo, hi, {code} FROM unit_spans"
        )
        for j in range(1, spans + 1):
            for name in ("lo", "hi", "code"):
                self.con.execute(
                    f"SET VARIABLE unit_{name}{j} = (SELECT list(s.{name} ORDER BY enum_code(k.k)) FROM "
                    f"(SELECT DISTINCT k FROM unit_list) k LEFT JOIN unit_list s ON s.k = k.k AND s.j = {j})"
                )
        return spans

    @staticmethod
    def _unit_row(u: Any) -> UnitRow:
        if isinstance(u, (tuple, list)):
            code, official, valid_from, valid_to = u
        else:  # a chiso.units.models.Unit or anything with those attributes
            code, official, valid_from, valid_to = u.code, u.official_code, u.valid_from, u.valid_to
        return str(code), (str(official) if official is not None else None), valid_from, valid_to


def row_hash_sql(rt: RecordType, alias: str = "") -> str:
    """SQL: the 64-bit hash of a record's canonical fields (``_hash`` in the segments).

    DuckDB's ``hash`` is fast (0.04 s per million rows) but not promised to stay the same
    across DuckDB versions, so every segment records the hash of a fixed probe row
    (``HASH_PROBE_KEY`` in its Parquet metadata): a store whose files were hashed by another
    DuckDB compares column by column until compaction rehashes it."""
    prefix = f"{alias}." if alias else ""
    # Choice fields and the unit are ENUMs in the import (``normalise.choice_type``, the
    # registry codes) and text in the store: hashed as text, as DuckDB hashes an ENUM by its
    # number.
    return "hash(" + ", ".join(prefix + f.name + ("::VARCHAR" if f.name in enum_fields(rt) else "")
                               for f in rt.fields) + ")"


def enum_fields(rt: RecordType) -> set[str]:
    """The fields that are ENUMs in table ``checked`` and text in the store's files."""
    return {f.name for f in rt.fields if f.type == "choice"} | ({rt.unit_field} if rt.unit_field else set())
