"""``chiso report``: conference reports as DOCX, PDF or XLSX, and their schedules."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from chiso import db
from chiso.clitools import DATE, FORMATS, engine_ready, records
from chiso.errors import ChisoError
from chiso.i18n import LANGUAGES, _
from chiso.output import emit_json, emit_table

REPORT_FORMATS = click.Choice(["docx", "pdf", "xlsx"])
_lang = click.option("--lang", type=click.Choice(LANGUAGES), default=None,
                     help="Language of the report (default: the setting lang).")
_issuer = click.option("--issuer", multiple=True,
                       help="A line of the issuing body in the header (repeatable; default: the province's "
                            "People's Committee and its Steering Committee).")
_day = click.option("--date", "day", type=DATE, default=None, help="Date of the document (default: today).")
_method = click.option("--method", "method_id", help="766 method definition id (default: the family's default).")


def _signing(f):
    """--number, --signer and --signer-title: the document's number line and who signs it."""
    f = click.option("--signer-title", help="Title of who signs (default: the setting report_signer_title, "
                                            "else Head).")(f)
    f = click.option("--signer", help="Name of who signs (default: the setting report_signer_name).")(f)
    return click.option("--number", help="Number from the office's register, e.g. 125 (gives \"Số: 125/TB-BCĐ\"); "
                                         "default: left blank for the clerk.")(f)


def _sign(number, signer, signer_title):
    from chiso.reports.build import Signing

    return Signing(number=number, signer=signer, title=signer_title)


def _period(text: str):
    from chiso.periods import parse_period

    return parse_period(text)



def write_file(path: Path, data: bytes) -> None:
    """Write whole or not at all: a temporary file renamed over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _emit(doc, fmt: str, out: str) -> None:
    from chiso.reports.render import render

    data = render(doc, fmt)
    path = Path(out)
    if path.is_dir():
        raise ChisoError(_("{path} is a folder; give a file name (or --split for one file per unit).").format(path=out))
    write_file(path, data)
    click.echo(_("Written: {path} ({size} bytes).").format(path=path, size=len(data)))


@click.group("report")
def report() -> None:
    """Conference reports (DOCX, PDF, XLSX): rankings, scorecards, periodic 766 reports, schedules."""


@report.command("ranking")
@click.option("--index", "index_name", type=click.Choice(["766"]), help="An index computed from the records.")
@click.option("--period", "period_text", help="Period of the index, e.g. 2026-Q3.")
@click.option("--round", "round_code", help="An assessment round (DTI, PAR Index, SIPAS, provincial templates).")
@click.option("--group", "groups", multiple=True, help="Unit group to rank (repeatable; default: the natural cohorts).")
@click.option("--format", "fmt", type=REPORT_FORMATS, required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=True), help="The file to write.")
@_lang
@_issuer
@_day
@_method
@_signing
def ranking(index_name, period_text, round_code, groups, fmt, out, lang, issuer, day, method_id, number, signer,
            signer_title) -> None:
    """Ranking announcement: 1st, 2nd, 3rd and last per group, tables, changes, charts."""
    from chiso.reports.build import build_ranking

    if (index_name is None) == (round_code is None):
        raise ChisoError(_("Give either --index 766 with --period, or --round."))
    if index_name and not period_text:
        raise ChisoError(_("--index 766 needs --period."))
    period = _period(period_text) if index_name else None
    with db.transaction(engine_ready()) as session:
        doc = build_ranking(session, records(session), index=index_name, period=period, round_code=round_code,
                            groups=list(groups), lang=lang, day=day, issuer=issuer, method_id=method_id,
                            signing=_sign(number, signer, signer_title))
    _emit(doc, fmt, out)


@report.command("conference")
@click.option("--year", type=int, required=True, help="The year the conference reviews, e.g. 2026.")
@click.option("--format", "fmt", type=REPORT_FORMATS, required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=True), help="The file to write.")
@_lang
@_issuer
@_day
@_method
@_signing
def conference(year, fmt, out, lang, issuer, day, method_id, number, signer, signer_title) -> None:
    """Conference announcement of a year: every index ranked first to last per group."""
    from chiso.reports.build import build_conference

    with db.transaction(engine_ready()) as session:
        doc = build_conference(session, records(session), year=year, lang=lang, day=day, issuer=issuer,
                               method_id=method_id, signing=_sign(number, signer, signer_title))
    _emit(doc, fmt, out)


@report.command("scorecard")
@click.option("--unit", "unit_codes", multiple=True, help="Unit code (repeatable).")
@click.option("--group", help="Every unit of this group (ranks within it).")
@click.option("--period", "period_text", required=True, help="Period of the 766 index, e.g. 2026-Q3.")
@click.option("--format", "fmt", type=REPORT_FORMATS, required=True)
@click.option("--out", required=True, type=click.Path(), help="The file to write, or a folder with --split.")
@click.option("--split", is_flag=True, help="One file per unit in the folder --out.")
@click.option("--as-of", "as_of", type=DATE, default=None, help="Date of the targets' colours and overdue tasks.")
@_lang
@_issuer
@_day
@_method
def scorecard(unit_codes, group, period_text, fmt, out, split, as_of, lang, issuer, day, method_id) -> None:
    """One page per unit: scores, rank, weakest 766 indicators, targets, overdue tasks."""
    from chiso.reports.build import build_scorecards, build_scorecards_split
    from chiso.reports.render import render

    if not unit_codes and not group:
        raise ChisoError(_("Give --unit or --group."))
    period = _period(period_text)
    kw = dict(period=period, group=group, lang=lang, day=day, as_of=as_of, issuer=issuer, method_id=method_id)
    with db.transaction(engine_ready()) as session:
        if not split:
            doc = build_scorecards(session, records(session), unit_codes=list(unit_codes), **kw)
            _emit(doc, fmt, out)
            return
        docs = build_scorecards_split(session, records(session), unit_codes=list(unit_codes), **kw)
    files = [(Path(out) / f"{code}-{period.code}.{fmt}", render(doc, fmt)) for code, doc in docs]
    if Path(out).exists() and not Path(out).is_dir():  # checked before anything is written
        raise ChisoError(_("{path} is a file; --split writes one file per unit into a folder.").format(path=out))
    for path, data in files:
        write_file(path, data)
    click.echo(_("Written: {n} files in {path}.").format(n=len(files), path=out))


@report.command("periodic")
@click.option("--period", "period_text", required=True, help="A week, month or quarter, e.g. 2026-W48, 2026-11.")
@click.option("--threshold", type=float, default=None,
              help="Units below this score are listed (default: the top of the method's lowest band, 50).")
@click.option("--format", "fmt", type=REPORT_FORMATS, required=True)
@click.option("--out", required=True, type=click.Path(), help="The file to write.")
@_lang
@_issuer
@_day
@_method
@_signing
def periodic(period_text, threshold, fmt, out, lang, issuer, day, method_id, number, signer, signer_title) -> None:
    """The 766 report of a period: province by group, units below a threshold, indicators that
    fell, dossiers overdue now."""
    from chiso.reports.build import build_periodic

    period = _period(period_text)
    with db.transaction(engine_ready()) as session:
        doc = build_periodic(session, records(session), period=period, threshold=threshold, lang=lang, day=day,
                             issuer=issuer, method_id=method_id, signing=_sign(number, signer, signer_title))
    _emit(doc, fmt, out)


@report.command("conclusion")
@click.argument("meeting_id")
@click.option("--format", "fmt", type=click.Choice(["docx", "pdf"]), required=True)
@click.option("--out", required=True, type=click.Path(), help="The file to write.")
@click.option("--number", help="The notice's number and symbol, e.g. 45/TB-BCĐ.")
@_lang
@_issuer
@_day
def conclusion(meeting_id, fmt, out, number, lang, issuer, day) -> None:
    """The conclusion notice of a meeting: its points, who does what by when."""
    from chiso.reports.build import build_conclusion

    with db.transaction(engine_ready()) as session:
        doc = build_conclusion(session, meeting=meeting_id, lang=lang, day=day, issuer=issuer, number=number)
    _emit(doc, fmt, out)


@report.group("schedules")
def schedules() -> None:
    """Reports built and e-mailed on a schedule by the worker."""


@schedules.command("add")
@click.argument("code")
@click.option("--kind", type=click.Choice(["ranking", "scorecard", "periodic"]), required=True)
@click.option("--rule", required=True, help="weekly:mon@08:00 (mon … sun) or monthly:1@08:00, local time.")
@click.option("--format", "fmt", type=REPORT_FORMATS, default="pdf", show_default=True)
@click.option("--to", "recipients", multiple=True, help="E-mail address (repeatable).")
@click.option("--index", "index_name", type=click.Choice(["766"]), help="Ranking of the 766 index.")
@click.option("--round", "round_code", help="Ranking of an assessment round.")
@click.option("--period-kind", type=click.Choice(["week", "month", "quarter", "half", "nine_months", "year", "ytd"]),
              help="The last complete period of this kind before the due day (default: week for the periodic "
                   "report, quarter otherwise).")
@click.option("--period", "period_text", help="A fixed period instead.")
@click.option("--group", "groups", multiple=True, help="Unit group (repeatable).")
@click.option("--unit", "unit_codes", multiple=True, help="Unit of a scorecard (repeatable).")
@click.option("--threshold", type=float, help="Threshold of the periodic report.")
@click.option("--issuer", multiple=True, help="Lines of the issuing body.")
@_lang
@click.option("--output", "output_fmt", type=FORMATS, default="table")
def schedules_add(code, kind, rule, fmt, recipients, index_name, round_code, period_kind, period_text, groups,
                  unit_codes, threshold, issuer, lang, output_fmt) -> None:
    """Add a schedule, e.g. every Monday 08:00 the weekly 766 report for the previous week."""
    from chiso.reports import schedule

    params = {"index": index_name, "round": round_code, "period_kind": period_kind, "period": period_text,
              "groups": list(groups), "units": list(unit_codes), "threshold": threshold, "issuer": list(issuer)}
    with db.transaction(engine_ready()) as session:
        s = schedule.add_schedule(session, code=code, kind=kind, rule=rule, fmt=fmt, recipients=list(recipients),
                                  params=params, lang=lang)
        data = schedule.schedule_json(s)
    if output_fmt == "json":
        emit_json(data)
    else:
        click.echo(_("Schedule {code} added: {kind}, {rule}, {format}.").format(
            code=data["code"], kind=data["kind"], rule=data["rule"], format=data["format"]))


@schedules.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def schedules_list(fmt) -> None:
    """Every report schedule."""
    from chiso.reports import schedule

    with db.transaction(engine_ready()) as session:
        rows = schedule.list_schedules(session)
    if fmt == "json":
        emit_json(rows)
        return
    emit_table([{**r, "recipients": ", ".join(r["recipients"]), "lang": r["lang"] or ""} for r in rows],
               [("code", _("code")), ("kind", _("kind")), ("rule", _("rule")), ("format", _("format")),
                ("lang", _("language")), ("recipients", _("recipients"))])


@schedules.command("remove")
@click.argument("code")
def schedules_remove(code) -> None:
    """Remove a schedule and the record of its runs (the files stay)."""
    from chiso.reports import schedule

    with db.transaction(engine_ready()) as session:
        schedule.remove_schedule(session, code=code)
    click.echo(_("Schedule {code} removed.").format(code=code))


@report.command("runs")
@click.option("--schedule", "code", help="Only this schedule's runs.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def runs(code, fmt) -> None:
    """The latest runs of the schedules: due time, status, file, error."""
    from chiso.reports import schedule

    with db.transaction(engine_ready()) as session:
        rows = schedule.list_runs(session, schedule=code)
    if fmt == "json":
        emit_json(rows)
        return
    emit_table(rows, [("schedule", _("schedule")), ("due", _("due")), ("status", _("status")),
                      ("attempts", _("attempts")), ("file", _("file")), ("error", _("error"))])


@report.command("run-due")
@click.option("--now", "now_text", help="Run as if it were this moment (ISO 8601; default: now).")
@click.option("--format", "fmt", type=FORMATS, default="table")
def run_due_cmd(now_text, fmt) -> None:
    """One pass of the scheduler, as the worker does it each pass."""
    from chiso.reports import schedule

    try:
        now = datetime.fromisoformat(now_text) if now_text else None
    except ValueError:
        raise ChisoError(_("{value!r} is not a date and time in ISO 8601 form.").format(value=now_text)) from None
    if now is not None and now.tzinfo is None:
        from zoneinfo import ZoneInfo

        from chiso import settings

        now = now.replace(tzinfo=ZoneInfo(settings.get("timezone")))
    result = schedule.run_due(engine_ready(), now=now)
    if fmt == "json":
        emit_json(result)
        return
    rows = [{"what": k, **e} for k in ("sent", "written", "failed", "already") for e in result[k]]
    emit_table(rows, [("what", _("result")), ("schedule", _("schedule")), ("due", _("due"))])


__all__ = ["report"]
