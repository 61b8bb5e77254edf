"""Step 3 of a dossier import, **rejects**: each rejected row's reason rendered in the
clerk's language, and the rejects file written next to its input (see
:mod:`chiso.dossiers.ingest`)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from chiso.dossiers.duck import count, ident, lit
from chiso.dossiers.stage import Staged, Stager
from chiso.i18n import _
from chiso.imports import Reject, rejects_path_for

#: How many rejected rows a summary carries (the rejects file has them all).
SAMPLE_LIMIT = 1000


def N_(message: str) -> str:
    """Mark a message for translation; it is translated when rendered (``chiso.i18n._``)."""
    return message


#: Reason of each rejection code. ``{column}`` is the column as written in the file's header,
#: ``{value}`` the cell, ``{other}`` a detail (the winning line, the allowed values...).
REASONS: dict[str, str] = {
    "missing_key": N_("{column} is empty: every row needs its code"),
    "duplicate": N_("{column} {value} appears again on line {other} of this file; that line is the one imported"),
    "missing_value": N_("{column} is empty"),
    "bad_timestamp": N_(
        "{column} is not a date: “{value}” (write e.g. 2025-07-01 08:30, 2025-07-01T08:30:00+07:00 or 20250701083000)"
    ),
    "bad_date": N_("{column} is not a date: “{value}” (write e.g. 2025-07-01)"),
    "implausible_date": N_("{column} is out of range: “{value}” (a date between 1990 and 2099 is expected)"),
    "future_date": N_("{column} is more than a year after the import: “{value}”"),
    "control_character": N_("{column} holds a control character (such as a NUL byte): “{value}”"),
    "missing_finish": N_("{column} is empty, but the status {other} means the processing ended"),
    "bad_boolean": N_("{column} is not a yes/no value: “{value}” (write true/false, 1/0, yes/no or có/không)"),
    "bad_number": N_("{column} is not a number: “{value}”"),
    "negative": N_("{column} is negative: “{value}”"),
    "bad_choice": N_("{column} has an unknown value “{value}” (expected one of: {other})"),
    "order": N_("{column} ({value}) is earlier than {other}"),
    "unknown_unit": N_("Unknown unit code “{value}” in {column}"),
    # For imports limited to a person's units: the same words whether the unit exists or not.
    "outside_scope": N_("Unit “{value}” in {column} is not one you may enter data for"),
    "unit_not_on_date": N_("Unit “{value}” did not exist on {other}, the day the record was received"),
    "malformed": N_("The line cannot be read: {value}"),
}

#: DuckDB's CSV error types, told to a clerk.
MALFORMED: dict[str, str] = {
    "MISSING COLUMNS": N_("it has fewer fields than the header"),
    "TOO MANY COLUMNS": N_("it has more fields than the header"),
    "INVALID ENCODING": N_("it is not UTF-8 text (save the file as “CSV UTF-8”)"),
    "INVALID UNICODE": N_("it is not UTF-8 text (save the file as “CSV UTF-8”)"),
    "UNQUOTED VALUE": N_("a quoted value is not closed, or text follows a closing quote"),
    "LINE SIZE OVER MAXIMUM": N_("it is longer than 2 MB"),
}



class RejectWriter(Stager):
    """The rejects part of :class:`chiso.dossiers.ingest.Batch`: reasons from table
    ``checked`` and the lines DuckDB could not read, to the summary and the rejects files."""

    con: duckdb.DuckDBPyConnection
    staged: list[Staged]

    def _reasons_table(self) -> None:
        codes = list(REASONS)
        self.con.execute(
            "CREATE OR REPLACE TABLE reasons AS SELECT unnest($1::VARCHAR[]) AS code, unnest($2::VARCHAR[]) AS tmpl",
            [codes, [_(REASONS[c]) for c in codes]],
        )

    @staticmethod
    def _render(why: str) -> str:
        return (
            f"replace(replace(replace(t.tmpl, '{{column}}', coalesce({why}.col, '')), "
            f"'{{other}}', coalesce({why}.other, '')), '{{value}}', coalesce({why}.val, ''))"
        )

    def _malformed_sql(self, st: Staged) -> str | None:
        if not st.malformed:
            return None
        known = " ".join(f"WHEN {lit(k)} THEN {lit(_(v))}" for k, v in MALFORMED.items())
        template = lit(_(REASONS["malformed"]))
        return (
            f"SELECT line AS __l, 'malformed' AS __code, replace({template}, '{{value}}', "
            f"CASE error_type {known} ELSE lower(error_type) END) AS __reason, csv_line AS __original "
            f"FROM (SELECT line, first(error_type ORDER BY column_idx) AS error_type, trim(first(csv_line), chr(10) || chr(13)) AS csv_line "
            f"FROM {st.malformed} GROUP BY line)"
        )

    def _rejects_sql(self, st: Staged) -> str:
        line, join = self.line_sql(st, "c.rid")
        originals = ", ".join(f"c.raw[{j + 1}] AS {col}" for j, col in enumerate(st.columns))
        body = (
            f"SELECT {line} AS __l, c.why.code AS __code, {self._render('c.why')} AS __reason, "
            f"NULL::VARCHAR AS __original{', ' + originals if originals else ''} "
            f"FROM rejected c {join} JOIN reasons t ON t.code = c.why.code WHERE c.__file = {st.index}"
        )
        malformed = self._malformed_sql(st)
        if malformed:
            body = f"{body} UNION ALL BY NAME {malformed}"
        return body

    def _keep_originals(self, st: Staged) -> None:
        """Give the rows rejected after the check (duplicates, records outside the
        importer's scope) their cells as written, from the input's text."""
        missing = f"rejected.__file = {st.index} AND rejected.raw IS NULL"
        if not count(self.con, f"SELECT count(*) FROM rejected WHERE {missing}"):
            return
        self.read_originals(st)
        cells = ", ".join(f"r.{c}" for c in st.columns)
        self.con.execute(
            f"UPDATE rejected SET raw = [{cells}]::VARCHAR[] FROM {st.raw} r "
            f"WHERE {missing} AND r.rowid = rejected.rid - {st.offset}"
        )

    def write_rejects(self, *, to_files: bool, sample_limit: int | None = SAMPLE_LIMIT) -> list[Reject]:
        """Write each input's rejects file (or remove a stale one); return the first rejects."""
        self._reasons_table()
        samples: list[Reject] = []
        for st in self.staged:
            self._keep_originals(st)
            body = self._rejects_sql(st)
            st.rejected = count(self.con, f"SELECT count(*) FROM ({body})")
            if st.rejected and (sample_limit is None or len(samples) < sample_limit):
                limit = "" if sample_limit is None else f"LIMIT {sample_limit - len(samples)}"
                for line, code, reason in self.con.execute(
                    f"SELECT __l, __code, __reason FROM ({body}) ORDER BY __l {limit}"
                ).fetchall():
                    samples.append(Reject(line=int(line), reason=reason, code=code, file=st.label))
            if not to_files or st.path is None:
                continue
            target = rejects_path_for(st.path)
            if not st.rejected:
                target.unlink(missing_ok=True)
                continue
            self._copy_rejects(st, body, target)
        return samples

    def _copy_rejects(self, st: Staged, body: str, target: Path) -> None:
        has_malformed = bool(st.malformed) and count(self.con, f"SELECT count(*) FROM {st.malformed}") > 0
        names = [_("line"), _("reason")] + st.headers + ([_("original line")] if has_malformed else [])
        seen: set[str] = set()
        unique = []
        for name in names:  # the CSV header must not repeat a name
            base, k = name or "column", 1
            while name in seen or not name:
                k += 1
                name = f"{base}_{k}"
            seen.add(name)
            unique.append(name)
        exprs = ["__l", "__reason"] + [f"{c}" for c in st.columns] + (["__original"] if has_malformed else [])
        select = ", ".join(f"{e} AS {ident(n)}" for e, n in zip(exprs, unique))
        plain = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        final_tmp = target.with_name(f".{target.name}.{os.getpid()}.bom")
        try:
            self.con.execute(
                f"COPY (SELECT {select} FROM ({body}) ORDER BY __l) TO {lit(str(plain))} "
                f"(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')"
            )
            # DuckDB writes no byte-order mark; Excel needs one to read UTF-8.
            with open(final_tmp, "wb") as out, open(plain, "rb") as src:
                out.write(b"\xef\xbb\xbf")
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            os.replace(final_tmp, target)
        finally:
            plain.unlink(missing_ok=True)
            final_tmp.unlink(missing_ok=True)

    def drop_raw(self) -> None:
        """Free the text of the inputs once the rejects are written (a 10-million-row file
        holds a few GB of it), before the store's part of the import."""
        for st in self.staged:
            self.con.execute(f"DROP TABLE IF EXISTS {st.raw}")
            if st.malformed:
                self.con.execute(f"DROP TABLE IF EXISTS {st.malformed}")
