"""The records a measure may count: the canonical columns of each table, the bases (which
records, placed in which period) and what each basis means in words.

Definition files name these; :mod:`chiso.methods.sqlcheck` checks a measure's SQL against
them, :mod:`chiso.index.compute` evaluates them, the generated docs describe them. The
engine never reads records, so this catalogue is here and not in :mod:`chiso.scoring.model`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from chiso.scoring.model import DERIVED

#: Parameters of the period, usable only in measures of the ``procedure`` basis (see
#: :data:`PERIOD_BASES`): the period is ``[period_start, period_end)``.
PERIOD_PARAMETERS = {"period_start": "TIMESTAMP", "period_end": "TIMESTAMP"}

#: Canonical dossier (hồ sơ TTHC) columns.
DOSSIER_COLUMNS: Mapping[str, str] = MappingProxyType({
    "dossier_id": "TEXT",
    "procedure_code": "TEXT",
    "unit_code": "TEXT",
    "received_at": "TIMESTAMP",
    "due_at": "TIMESTAMP",
    "finished_at": "TIMESTAMP",
    "status": "TEXT",
    "channel": "TEXT",
    "has_fee": "BOOLEAN",
    "paid_online": "BOOLEAN",
    "digitized": "BOOLEAN",
    "e_result": "BOOLEAN",
    "requires_paper_result": "BOOLEAN",
    "synced": "BOOLEAN",
    "supplement_days": "DOUBLE",
    "supplement_count": "DOUBLE",
    # Optional: a store that lacks them supplies NULL.
    "reused": "BOOLEAN",
    "population_db": "BOOLEAN",
    "rating": "TEXT",
    "complaint": "BOOLEAN",
    # Joined from the procedure catalogue onto each dossier by the store (NULL when the
    # procedure is not in the catalogue): the statutory time for dossiers without a due date
    # (2.1) and the online level for "eligible" dossiers (766-formula-2022, 3.3).
    "statutory_days": "DOUBLE",
    "online_level": "TEXT",
    # The catalogue's unit of statutory_days, and the moment that time runs out from the
    # dossier's reception (working days on the working-day calendar where the unit says so).
    "statutory_unit": "TEXT",
    "statutory_until": "TIMESTAMP",
})

#: Procedure (thủ tục hành chính) catalogue columns: one row per procedure under the
#: authority of the unit scored. ``has_online_dossier`` and ``has_paid_online_dossier`` are
#: derived for each period (by :mod:`chiso.index.compute`): at least one dossier of the
#: procedure was received online, or paid online, in the period.
PROCEDURE_COLUMNS: Mapping[str, str] = MappingProxyType({
    "procedure_code": "TEXT",
    "name": "TEXT",
    "levels": "TEXT",
    "online_level": "TEXT",
    "has_fee": "BOOLEAN",
    "payment_integrated": "BOOLEAN",
    "statutory_days": "DOUBLE",
    "statutory_unit": "TEXT",
    "paper_result": "BOOLEAN",
    "decision_date": "DATE",
    "legal_effective_date": "DATE",
    "published_date": "DATE",
    "complete_publication": "BOOLEAN",
    "has_online_dossier": "BOOLEAN",
    "has_paid_online_dossier": "BOOLEAN",
})

#: Feedback and petitions (phản ánh, kiến nghị) columns.
FEEDBACK_COLUMNS: Mapping[str, str] = MappingProxyType({
    "feedback_id": "TEXT",
    "unit_code": "TEXT",
    "received_at": "TIMESTAMP",
    "handled_on_time": "BOOLEAN",
    "satisfied": "BOOLEAN",
    "outcome": "TEXT",
})

#: Each basis of records names the table a measure counts rows of, and so the columns its
#: ``where`` (and ``sum``, ``distinct``, ``on_time``) may use. The basis also says which
#: period a record counts in (:data:`BASIS_MEANINGS`); :mod:`chiso.index.compute` evaluates
#: it. ``derived`` (:data:`DERIVED`) is a basis too, but reads other measures, not records.
BASES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "dossier_received": DOSSIER_COLUMNS,
    "dossier_finished": DOSSIER_COLUMNS,
    "dossier_settlement": DOSSIER_COLUMNS,
    "procedure": PROCEDURE_COLUMNS,
    "feedback": FEEDBACK_COLUMNS,
})

#: Every basis a measure may have.
BASIS_NAMES: tuple[str, ...] = (*BASES, DERIVED)

#: Bases whose records are placed in periods by the basis itself (by a day of each record):
#: their expressions are per record and must not read the period parameters, which is what
#: makes their counts additive by day.
DAY_BASES: tuple[str, ...] = ("dossier_received", "dossier_finished", "dossier_settlement", "feedback")

#: Bases evaluated once per period, with the period parameters in scope.
PERIOD_BASES: tuple[str, ...] = ("procedure",)

#: The only basis that may carry an ``on_time`` rule (indicator 2.1).
ON_TIME_BASIS = "dossier_settlement"

#: The only basis whose measures may count distinct values (``distinct``).
DISTINCT_BASES: tuple[str, ...] = ("dossier_received",)

#: The table behind each basis of records, for the store and the docs.
BASIS_TABLES: Mapping[str, str] = MappingProxyType({
    "dossier_received": "dossiers",
    "dossier_finished": "dossiers",
    "dossier_settlement": "dossiers",
    "procedure": "procedures",
    "feedback": "feedback",
})

#: What each basis means, in words: (Vietnamese, English). The generated docs show it
#: beside every measure.
BASIS_MEANINGS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "dossier_received": (
        "hồ sơ tiếp nhận trong kỳ: mỗi hồ sơ được tính vào kỳ chứa thời điểm tiếp nhận (`received_at`)",
        "dossiers received in the period: each dossier counts in the period that contains its `received_at`",
    ),
    "dossier_finished": (
        "hồ sơ kết thúc xử lý trong kỳ: mỗi hồ sơ được tính vào kỳ chứa thời điểm kết thúc (`finished_at`)",
        "dossiers whose processing ended in the period: each dossier counts in the period that contains its `finished_at`",
    ),
    "dossier_settlement": (
        "hồ sơ đã và đang giải quyết trong kỳ (chỉ số 2.1): tiếp nhận trước khi kết thúc kỳ và chưa kết thúc xử lý "
        "trước khi bắt đầu kỳ; với quy tắc `on_time`, chỉ tính hồ sơ kết thúc trong kỳ mà `on_time.finished` đúng, "
        "hoặc chưa kết thúc đến cuối kỳ mà cuối kỳ không muộn hơn `on_time.open_until`; kỳ chưa kết thúc thì "
        "hồ sơ chưa kết thúc được xét đúng hạn, trễ hạn tại thời điểm hiện tại (đầu ngày hôm nay) thay cho cuối kỳ",
        "the settlement population of indicator 2.1: dossiers received before the period's end and not finished "
        "before its start; with an `on_time` rule, only those finished within the period for which `on_time.finished` "
        "holds, or still open at the period's end when that end is no later than `on_time.open_until`; in a period "
        "still running, an open dossier is judged now (at the start of today) instead of at the period's end",
    ),
    "feedback": (
        "phản ánh, kiến nghị tiếp nhận trong kỳ: mỗi phản ánh được tính vào kỳ chứa thời điểm tiếp nhận (`received_at`)",
        "feedback received in the period: each item counts in the period that contains its `received_at`",
    ),
    "procedure": (
        "các dòng của danh mục TTHC thuộc thẩm quyền của đơn vị, xét lại cho từng kỳ: `period_start`, `period_end`, "
        "`has_online_dossier` (có hồ sơ trực tuyến tiếp nhận trong kỳ) và `has_paid_online_dossier` (có hồ sơ tiếp "
        "nhận trong kỳ được thanh toán trực tuyến) là của kỳ đó",
        "rows of the procedure catalogue under the unit's authority, evaluated for each period: `period_start`, "
        "`period_end`, `has_online_dossier` (an online dossier was received in the period) and "
        "`has_paid_online_dossier` (a dossier received in the period was paid online) are that period's",
    ),
    DERIVED: (
        "tính bằng phép toán số học từ các đại lượng khác của cùng đơn vị, cùng kỳ",
        "computed by arithmetic from other measures of the same unit and period",
    ),
})
