"""The canonical records the service index is computed from, as data.

Three record types share one set of import rules (:mod:`chiso.dossiers.ingest`):

- **dossiers** (hồ sơ thủ tục hành chính, hồ sơ TTHC): one row per dossier a unit received;
- **procedures** (danh mục thủ tục hành chính): the province's catalogue of administrative
  procedures;
- **feedback** (phản ánh, kiến nghị, PAKN): one row per item of feedback a unit handled.

Each type is a :class:`RecordType`: its key, its fields with their types, the aliases that
one-stop systems use for them (the national synchronisation format's ``MaHoSo``,
``NgayTiepNhan``, ``TrangThaiHoSo``... docs/methodology/dossier-format.md#fields), the values an empty or a missing
column stands for, and the rule that decides which of two versions of a record is the later
one. The ingestion code generates its SQL from these definitions; nothing about a particular
column is written anywhere else.

**Empty and absent.** A column that is in the file but empty on a row takes the field's
``empty`` value (``synced`` empty means yes, ``supplement_days`` empty means 0, ``channel``
empty means in person, the required booleans mean no). A column that is not in the file at
all takes ``absent``: NULL for facts the file did not state (``has_fee``,
``requires_paper_result``...: the index engine falls back to the procedure catalogue), the
same defaults otherwise. Only the columns in ``RecordType.required`` must be in the header.

**Later.** Two versions of one record (same source and key) are ordered by
``(rank of the progress field, order field, arrival)``: for dossiers, the status's progress
rank (submitted 0 < received 1 < processing = supplement requested 2 < settled = rejected =
stopped = withdrawn 3 < result returned 4, after the national codes 1, 2, 4–6, 3/7/8/9,
10), then
``finished_at`` (empty first), then the import that came later. An incoming version that
ranks lower than the stored one is ignored (counted as unchanged), so a stale export never
rolls a finished dossier back to "processing"; one that ranks equal but differs (a corrected
flag, processing ↔ supplement requested) replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping

#: How a field's text is turned into a value (see ``normalise._fast_sql`` and ``normalise._full_sql``).
FieldType = Literal["text", "timestamp", "date", "boolean", "number", "choice"]

#: DuckDB column type of each field type, as stored in the Parquet segments.
SQL_TYPES: Mapping[str, str] = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "number": "DOUBLE",
    "choice": "VARCHAR",
}

#: Accepted spellings of yes and no, compared after lower-casing and removing diacritics
#: (so "Có", "CÓ", "co" and "có" are all yes).
TRUE_WORDS: tuple[str, ...] = ("true", "1", "yes", "co")
FALSE_WORDS: tuple[str, ...] = ("false", "0", "no", "khong")

#: Date formats accepted besides ISO 8601 (tried in this order). ``yyyyMMddHHmmss`` is the
#: national synchronisation format; day-first dates are how Vietnamese spreadsheets write them.
EXTRA_TIMESTAMP_FORMATS: tuple[str, ...] = (
    "%Y%m%d%H%M%S",
    "%Y%m%d%H%M",
    "%Y%m%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


@dataclass(frozen=True)
class Alias:
    """Another name for a field, as some source systems write it.

    ``decode`` names a different reading of the values under that name, e.g.
    ``DuocThanhToanTrucTuyen`` holds a payment channel code (1 national portal, 2 provincial
    gateway, anything else: not paid online), not a yes/no value; ``DanhSachHoSoBoSung``
    holds the list of a dossier's supplement requests (``list_count``: its entries are
    counted; a plain number is read as the count).
    """

    name: str
    decode: Literal["payment_code", "satisfied_flag", "list_count"] | None = None


@dataclass(frozen=True)
class Field:
    """One column of a canonical record."""

    name: str
    type: FieldType
    #: The cell may not be empty (the key is checked separately, with its own reason).
    not_empty: bool = False
    #: SQL literal stored when the cell is empty (None: NULL).
    empty: str | None = None
    #: SQL literal stored when the column is not in the file (None: NULL).
    absent: str | None = None
    aliases: tuple[Alias, ...] = ()
    #: For ``choice``: accepted spelling (lower case, no diacritics) → stored value.
    choices: Mapping[str, str] = field(default_factory=dict)
    #: For ``number``: the smallest value allowed.
    minimum: float | None = None
    help: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    def allowed(self) -> list[str]:
        """The stored values of a ``choice`` field, in order, for messages."""
        return list(dict.fromkeys(self.choices.values()))


@dataclass(frozen=True)
class RecordType:
    """A kind of record the store holds, and how its files are read."""

    #: Name of the folder in the store and of the view readers query.
    name: str
    #: The Vietnamese term, for documentation.
    term_vi: str
    #: Column identifying a record within one source.
    key: str
    fields: tuple[Field, ...]
    #: Columns that must be in the header (by name or alias) or the file is refused.
    required: tuple[str, ...]
    #: The column holding a unit code to resolve against the registry, and the timestamp
    #: column giving the day on which the unit must exist.
    unit_field: str | None = None
    unit_date: str | None = None
    #: (later, earlier): a row whose ``later`` value is before its ``earlier`` is rejected.
    order_checks: tuple[tuple[str, str], ...] = ()
    #: (field, values, needed): a row whose ``field`` is one of ``values`` must have
    #: ``needed`` filled (a settled dossier has a finish time), else it is rejected.
    needs: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    #: Field whose value ranks a record's progress, and the rank of each value.
    rank_field: str | None = None
    ranks: Mapping[str, int] = field(default_factory=dict)
    #: Field ordering versions of equal rank (NULL first).
    order_field: str | None = None
    #: Sort order of the stored segments: scans filtered by unit and date skip row groups.
    sort: tuple[str, ...] = ()

    def get(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def columns(self) -> list[tuple[str, str]]:
        """The stored columns with their DuckDB types, as readers see them."""
        cols = [("source", "VARCHAR")] + [(f.name, f.sql_type) for f in self.fields]
        return cols + [("imported_at", "TIMESTAMP WITH TIME ZONE")]


def header_key(name: str) -> str:
    """A header cell reduced for matching: case, spaces, underscores and BOM do not count."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


# --------------------------------------------------------------------------- vocabularies

#: ``TrangThaiHoSo`` codes of the national format next to chiso's words.
DOSSIER_STATUSES: dict[str, str] = {
    "submitted": "submitted",
    "received": "received",
    "processing": "processing",
    "supplement_requested": "supplement_requested",
    "settled": "settled",
    "returned": "returned",
    "rejected": "rejected",
    "stopped": "stopped",
    "withdrawn": "withdrawn",
    # mới đăng ký: submitted online, not yet received by the one-stop shop. Stored (a later
    # export moves it on) but counted nowhere: the index counts received dossiers.
    "1": "submitted",
    "moi dang ky": "submitted",
    "2": "received",  # đã tiếp nhận
    "3": "rejected",  # từ chối tiếp nhận
    "4": "processing",  # đang xử lý
    "5": "supplement_requested",  # yêu cầu bổ sung
    "6": "processing",  # yêu cầu thực hiện nghĩa vụ tài chính (payment requested)
    "7": "withdrawn",  # công dân yêu cầu rút hồ sơ
    "8": "stopped",  # dừng xử lý
    "9": "settled",  # đã xử lý xong
    "10": "returned",  # đã trả kết quả
}

#: Progress rank of a status (see "Later" above). Rejected, stopped and withdrawn end a
#: dossier like settling it does; returning the result comes after settling (9 before 10).
STATUS_RANKS: dict[str, int] = {
    "submitted": 0,
    "received": 1,
    "processing": 2,
    "supplement_requested": 2,
    "settled": 3,
    "rejected": 3,
    "stopped": 3,
    "withdrawn": 3,
    "returned": 4,
}

#: Terminal statuses: the dossier's processing ended (its ``finished_at`` is that moment).
TERMINAL_STATUSES = frozenset(s for s, r in STATUS_RANKS.items() if r >= 3)

#: Statuses of a dossier the one-stop shop has not received: kept in the store, left out of
#: every measure (``chiso.index.compute.records_sql``).
NOT_RECEIVED_STATUSES = ("submitted",)

#: ``KenhThucHien`` 1 in person, 2 online, 3 public postal service.
CHANNELS: dict[str, str] = {
    "direct": "direct",
    "online": "online",
    "postal": "postal",
    "1": "direct",
    "2": "online",
    "3": "postal",
    "truc tiep": "direct",
    "truc tuyen": "online",
    "buu chinh": "postal",
    "buu chinh cong ich": "postal",
}

RATINGS: dict[str, str] = {
    "satisfied": "satisfied",
    "neutral": "neutral",
    "dislike": "dislike",
    "unsatisfied": "dislike",
    "hai long": "satisfied",
    "binh thuong": "neutral",
    "khong hai long": "dislike",
}

#: Online service level of a procedure (dịch vụ công trực tuyến toàn trình / một phần). The
#: levels 4 and 3 of the pre-2022 scale are read as full and partial.
ONLINE_LEVELS: dict[str, str] = {
    "full": "full",
    "partial": "partial",
    "none": "none",
    "toan trinh": "full",
    "mot phan": "partial",
    "khong": "none",
    "4": "full",
    "3": "partial",
    "2": "none",
    "1": "none",
    "0": "none",
}

#: Unit of a procedure's statutory time (đơn vị thời hạn giải quyết): working days (ngày làm
#: việc, counted on the working-day calendar, ``chiso/calendar.py``) or calendar days.
STATUTORY_UNITS: dict[str, str] = {
    "working_days": "working_days",
    "calendar_days": "calendar_days",
    "working": "working_days",
    "calendar": "calendar_days",
    "ngay lam viec": "working_days",
    "ngay": "calendar_days",
    "ngay lich": "calendar_days",
}

FEEDBACK_OUTCOMES: dict[str, str] = {
    "pending": "pending",
    "supplement_requested": "supplement_requested",
    "refused": "refused",
    "handled": "handled",
    "published": "published",
    "dang xu ly": "pending",
    "yeu cau bo sung": "supplement_requested",
    "tu choi": "refused",
    "da xu ly": "handled",
    "da cong khai": "published",
}

FEEDBACK_RANKS: dict[str, int] = {
    "pending": 0,
    "supplement_requested": 1,
    "refused": 2,
    "handled": 2,
    "published": 3,
}


def _bool(name: str, *, empty: str | None = "false", absent: str | None = None, aliases: Iterable[Alias] = (),
          help: str = "") -> Field:
    return Field(name, "boolean", empty=empty, absent=absent, aliases=tuple(aliases), help=help)


# --------------------------------------------------------------------------- record types

DOSSIERS = RecordType(
    name="dossiers",
    term_vi="hồ sơ thủ tục hành chính",
    key="dossier_id",
    fields=(
        Field("dossier_id", "text", aliases=(Alias("MaHoSo"),), help="dossier code, unique per source"),
        Field("procedure_code", "text", not_empty=True, aliases=(Alias("MaTTHC"),), help="procedure code"),
        Field("unit_code", "text", not_empty=True, aliases=(Alias("MaDonVi"),),
              help="handling unit: registry code or official code; stored as the registry code"),
        Field("received_at", "timestamp", not_empty=True, aliases=(Alias("NgayTiepNhan"),)),
        Field("due_at", "timestamp", aliases=(Alias("NgayHenTra"),)),
        Field("finished_at", "timestamp", aliases=(Alias("NgayKetThucXuLy"),)),
        Field("status", "choice", not_empty=True, aliases=(Alias("TrangThaiHoSo"),), choices=DOSSIER_STATUSES),
        Field("channel", "choice", empty="'direct'", absent="'direct'", aliases=(Alias("KenhThucHien"),),
              choices=CHANNELS),
        _bool("has_fee"),
        _bool("paid_online", aliases=(Alias("DuocThanhToanTrucTuyen", decode="payment_code"),)),
        _bool("digitized", aliases=(Alias("HoSoCoThanhPhanSoHoa"),)),
        _bool("e_result"),
        _bool("requires_paper_result"),
        _bool("synced", empty="true", absent="true"),
        Field("supplement_days", "number", empty="0", absent="0", minimum=0.0,
              help="days the dossier waited for the applicant to supplement it"),
        Field("supplement_count", "number", empty="0", absent="0", minimum=0.0,
              aliases=(Alias("DanhSachHoSoBoSung", decode="list_count"),),
              help="supplement requests made of the applicant (more than one: the dossier is late)"),
        _bool("reused", empty=None, help="a component was reused from digitised data (4.3)"),
        _bool("population_db", empty=None, help="the population database was used (4.5b)"),
        Field("rating", "choice", choices=RATINGS, help="the applicant's rating (5.4)"),
        _bool("complaint", empty=None, help="the applicant complained (5.4)"),
    ),
    required=("dossier_id", "procedure_code", "unit_code", "received_at", "due_at", "finished_at", "status"),
    unit_field="unit_code",
    unit_date="received_at",
    order_checks=(("finished_at", "received_at"),),
    # Settled and returned mean the processing ended: without the moment it ended the
    # dossier cannot be counted on time or late (rejected, stopped and withdrawn ones may
    # come without it).
    needs=(("status", ("settled", "returned"), "finished_at"),),
    rank_field="status",
    ranks=STATUS_RANKS,
    order_field="finished_at",
    sort=("unit_code", "received_at"),
)

PROCEDURES = RecordType(
    name="procedures",
    term_vi="danh mục thủ tục hành chính",
    key="procedure_code",
    fields=(
        Field("procedure_code", "text", aliases=(Alias("MaTTHC"),)),
        Field("name", "text", not_empty=True, aliases=(Alias("TenTTHC"),)),
        Field("levels", "text", help="handling levels as given, e.g. 'province;commune' (cấp thực hiện)"),
        Field("online_level", "choice", empty="'none'", choices=ONLINE_LEVELS),
        _bool("has_fee", empty=None),
        _bool("payment_integrated", empty=None),
        Field("statutory_days", "number", minimum=0.0, help="statutory processing time in days"),
        Field("statutory_unit", "choice", choices=STATUTORY_UNITS,
              help="unit of statutory_days; empty: calendar days"),
        _bool("paper_result", empty=None),
        Field("decision_date", "date", help="date of the publication decision (quyết định công bố)"),
        Field("legal_effective_date", "date", help="date the legal basis takes effect"),
        Field("published_date", "date", help="date made public on the portal"),
        _bool("complete_publication", empty=None, help="all required parts are published"),
    ),
    required=("procedure_code", "name"),
    sort=("procedure_code",),
)

FEEDBACK = RecordType(
    name="feedback",
    term_vi="phản ánh, kiến nghị",
    key="feedback_id",
    fields=(
        Field("feedback_id", "text", aliases=(Alias("MaPAKN"),)),
        Field("unit_code", "text", not_empty=True, aliases=(Alias("MaDonVi"),)),
        Field("received_at", "timestamp", not_empty=True),
        Field("due_at", "timestamp"),
        Field("handled_at", "timestamp", help="time of the outcome below"),
        Field("outcome", "choice", empty="'pending'", absent="'pending'", choices=FEEDBACK_OUTCOMES),
        Field("rating", "choice", choices=RATINGS,
              aliases=(Alias("satisfied", decode="satisfied_flag"),)),
        _bool("repeated", empty=None, help="a repeated item (5.3 counts those with dissatisfaction)"),
    ),
    required=("feedback_id", "unit_code", "received_at"),
    unit_field="unit_code",
    unit_date="received_at",
    order_checks=(("handled_at", "received_at"),),
    rank_field="outcome",
    ranks=FEEDBACK_RANKS,
    order_field="handled_at",
    sort=("unit_code", "received_at"),
)

RECORD_TYPES: Mapping[str, RecordType] = {t.name: t for t in (DOSSIERS, PROCEDURES, FEEDBACK)}


def record_type(name: str) -> RecordType:
    try:
        return RECORD_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown record type {name!r}; expected one of {sorted(RECORD_TYPES)}") from None


def fields_markdown() -> str:
    """The column tables of ``docs/dossiers.md``, generated from the record types (a test
    keeps the page in step with this module)."""

    def literal(sql: str | None) -> str:
        return "NULL" if sql is None else sql.strip("'")

    lines: list[str] = []
    for rt in RECORD_TYPES.values():
        lines += [
            f"### `{rt.name}` ({rt.term_vi})",
            "",
            "| column | type | in the header | empty cell | column left out | also read from |",
            "|---|---|---|---|---|---|",
        ]
        for f in rt.fields:
            required = f.name in rt.required
            kind = " \\| ".join(f"`{v}`" for v in f.allowed()) if f.type == "choice" else f.type
            header = "key, required" if f.name == rt.key else ("required" if required else "optional")
            empty = "rejected" if (f.not_empty or f.name == rt.key) else literal(f.empty)
            absent = "—" if required else literal(f.absent)
            notes = {"payment_code": " (1, 2 = yes; anything else = no)", "satisfied_flag": " (yes/no)",
                     "list_count": " (a list: its entries are counted)"}
            aliases = ", ".join(f"`{a.name}`" + notes.get(a.decode or "", "") for a in f.aliases)
            lines.append(f"| `{f.name}` | {kind} | {header} | {empty} | {absent} | {aliases} |")
        lines.append("")
    return "\n".join(lines)
