"""Survey responses (khảo sát sự hài lòng, SIPAS-style) into satisfaction rates.

A file has one row per respondent per question: ``respondent``, ``unit``, ``factor``,
``question``, ``answer`` (1–5; Vietnamese header names are accepted too). The rate of a
unit on a factor is the share of answers 4 and 5 among all its answers on that factor
(SIPAS: "hài lòng" and "rất hài lòng"). Each factor feeds a survey leaf of the round's
method: by default the leaf whose id is the factor, or as ``nodes`` maps it; several
factors may feed one leaf (their answers are pooled).

The import is atomic: a file with any rejected row imports nothing; each rejected row is
written with its line number and reason to ``<file>.rejects.csv`` beside the input (as the
dossier import does). Running it again with the same file changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from chiso.assessments import service
from chiso.assessments.journal import log_event
from chiso.assessments.models import SurveyRate
from chiso import sheets
from chiso.imports import ImportSummary, Reject, write_rejects as write_rejects_file
from chiso.errors import ChisoError
from chiso.i18n import _

if TYPE_CHECKING:
    from chiso.auth.permissions import Actor

#: Canonical column → names accepted in a header (lower-cased, trimmed).
COLUMNS: dict[str, tuple[str, ...]] = {
    "respondent": ("respondent", "respondent_id", "phieu", "phiếu", "ma_phieu", "mã phiếu", "nguoi_tra_loi"),
    "unit": ("unit", "unit_code", "don_vi", "đơn vị", "ma_don_vi", "mã đơn vị"),
    "factor": ("factor", "yeu_to", "yếu tố"),
    "question": ("question", "cau_hoi", "câu hỏi"),
    "answer": ("answer", "score", "tra_loi", "trả lời", "muc_do", "mức độ"),
}
#: Answers counted as satisfied (4 = hài lòng, 5 = rất hài lòng).
SATISFIED = (4, 5)


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    return sheets.rows(path, unsupported=_("Cannot read {path}: a survey file is CSV or XLSX.").format(path=path))


def _header(cells: list[str], path: Path) -> dict[str, int]:
    return sheets.header(cells, path, columns=COLUMNS, required=list(COLUMNS), missing=_(
        "{path}: missing column(s): {columns} (a survey file has {expected})."))


def import_responses(session: Session, *, round_code: str, path: str | Path, actor: Actor,
                     nodes: Mapping[str, str] | None = None, write_rejects: bool = True) -> ImportSummary:
    """Import one survey file into the round's satisfaction rates (see the module docstring);
    the summary's ``rates`` are the rates the file gives."""
    path = Path(path)
    rnd = service.get_round(session, round_code)
    method = service.method_of(rnd)
    nodes = dict(nodes or {})
    for factor, node_id in nodes.items():
        node = method.nodes.get(node_id)
        if node is None or not node.is_leaf or node.rule is None or node.rule.type != "survey":
            raise ChisoError(_("Factor {factor}: {node!r} is not a survey leaf of method {method}.").format(
                factor=factor, node=node_id, method=method.id))
    members = {a.unit.code: a for a in rnd.assessments}
    by_official = {a.unit.official_code: a for a in rnd.assessments if a.unit.official_code}

    summary = ImportSummary(kind="surveys", extra={"rates": []})
    rows = _rows(path)
    try:
        _line, head = next(rows)
    except StopIteration:
        raise ChisoError(_("{path} is empty.").format(path=path)) from None
    cols = _header(head, path)
    seen: dict[tuple[str, str, str], int] = {}
    answers: dict[tuple[int, str], list[tuple[str, int]]] = defaultdict(list)
    factor_node: dict[str, str] = {}
    for line, cells in rows:
        summary.read += 1
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in cols.items()}
        reason = None
        empty = [c for c, v in values.items() if not v]
        a = members.get(values["unit"]) or by_official.get(values["unit"])
        node_id = nodes.get(values["factor"], values["factor"])
        node = method.nodes.get(node_id)
        if empty:
            reason = _("{column} is empty").format(column=empty[0])
        elif a is None:
            reason = _("unit {unit} is not in round {round}").format(unit=values["unit"], round=rnd.code)
        elif node is None or node.rule is None or node.rule.type != "survey":
            reason = _("factor {factor} feeds no survey leaf of method {method}").format(
                factor=values["factor"], method=method.id)
        elif a.status in service.LOCKED:
            reason = _("unit {unit} is {status} in round {round}: its data is locked").format(
                unit=a.unit.code, status=a.status, round=rnd.code)
        else:
            try:
                number = float(values["answer"].replace(",", "."))
            except ValueError:
                number = float("nan")
            if not (number == number and number.is_integer() and 1 <= number <= 5):
                reason = _("answer {value!r} is not a whole number from 1 to 5").format(value=values["answer"])
            else:
                key = (a.unit.code, values["respondent"], values["question"])
                if key in seen:
                    reason = _("respondent {respondent} answered question {question} for {unit} twice (first at line {line})").format(
                        respondent=values["respondent"], question=values["question"], unit=a.unit.code, line=seen[key])
                else:
                    seen[key] = line
                    answers[(a.unit_id, values["factor"])].append((values["respondent"], int(number)))
                    factor_node[values["factor"]] = node_id
        if reason is not None:
            summary.rejects.append(Reject(line=line, reason=reason, values=values))
    summary.rejected = len(summary.rejects)

    if write_rejects:
        summary.rejects_path = write_rejects_file(path, summary.rejects, COLUMNS)
    if summary.rejects:
        summary.refused = True
        return summary  # atomic: a file with any rejected row imports nothing

    unit_codes = {a.unit_id: a.unit.code for a in rnd.assessments}
    for (unit_id, factor), got in sorted(answers.items(), key=lambda kv: (unit_codes[kv[0][0]], kv[0][1])):
        satisfied = sum(1 for _r, v in got if v in SATISFIED)
        rate = satisfied / len(got)
        row = session.scalar(select(SurveyRate).where(SurveyRate.round_id == rnd.id, SurveyRate.unit_id == unit_id,
                                                     SurveyRate.factor == factor))
        fresh = dict(node_id=factor_node[factor], respondents=len({r for r, _v in got}), answers=len(got),
                     satisfied=satisfied, rate=rate)
        if row is None:
            session.add(SurveyRate(round_id=rnd.id, unit_id=unit_id, factor=factor, source=str(path),
                                   imported_at=datetime.now(timezone.utc), **fresh))
            summary.inserted += 1
        elif all(getattr(row, k) == v for k, v in fresh.items()):
            summary.unchanged += 1
        else:
            for k, v in fresh.items():
                setattr(row, k, v)
            row.source, row.imported_at = str(path), datetime.now(timezone.utc)
            summary.updated += 1
        summary.extra["rates"].append({"unit": unit_codes[unit_id], "factor": factor, "node": factor_node[factor], **fresh})
    log_event(session, rnd, "survey_imported", actor.name, detail=(
        f"{path.name}: {summary.read} rows, {summary.inserted} inserted, {summary.updated} updated, "
        f"{summary.unchanged} unchanged"))
    from chiso.audit import service as audit

    audit.record(session, actor=actor, action="round.surveys_import", object_type="round", object_key=rnd.code,
                 after={"file": path.name, "read": summary.read, "inserted": summary.inserted,
                        "updated": summary.updated, "unchanged": summary.unchanged})
    session.flush()
    return summary


def rates(session: Session, *, round_code: str) -> list[dict]:
    rnd = service.get_round(session, round_code)
    codes = {a.unit_id: a.unit.code for a in rnd.assessments}
    return [{"unit": codes.get(r.unit_id), "factor": r.factor, "node": r.node_id, "respondents": r.respondents,
             "answers": r.answers, "satisfied": r.satisfied, "rate": r.rate}
            for r in session.scalars(select(SurveyRate).where(SurveyRate.round_id == rnd.id))]
