"""The ``chiso`` command line. Each command is a thin shell over a domain's service.

The commands of the domains are loaded only when they run (``LazyGroup``): ``chiso --help``
and a command's start-up then pay for what that command uses, not for SQLAlchemy, FastAPI,
matplotlib and every domain at once.
"""

from __future__ import annotations

import importlib
from gettext import gettext as click_gettext
import os
import sys
from datetime import date

import click

from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.clitools import FORMATS, progress_bar
from chiso.output import day, emit_json, emit_table, error, number

# name -> (module, attribute, summary). The summary is what `chiso --help` lists without
# importing the module; tests/test_cli.py checks it against the command's own docstring.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "units": ("chiso.units.cli", "units",
                'Administrative units: list, lineage, and changes of structure.'),
    "groups": ("chiso.units.cli", "groups", 'Groups of units that are ranked separately.'),
    "periods": ("chiso.periods_cli", "periods",
                'Reporting periods (week, month, quarter, half-year, 9 months, year, year-to-date).'),
    "methods": ("chiso.methods.cli", "methods",
                'Index methods: the versioned definition files the scores are computed from.'),
    "dossiers": ("chiso.dossiers.cli", "dossiers",
                'Dossier records (hồ sơ TTHC), the procedure catalogue and feedback.'),
    "demo-data": ("chiso.dossiers.cli", "demo_data",
                "Make realistic synthetic dossiers for a province's real units."),
    "index": ("chiso.index.cli", "index", 'Official indexes computed from the records.'),
    "store": ("chiso.store.cli", "store",
                'The store: its identity, where its records live, what it holds.'),
    "backup": ("chiso.store.cli", "backup_cmd",
                'Write the whole store (every table and every record) to one archive, while it serves.'),
    "restore": ("chiso.store.cli", "restore_cmd",
                'Bring a whole store back from a backup into an empty store (SQLite or PostgreSQL).'),
    "rounds": ("chiso.assessments.cli", "rounds",
                'Assessment rounds: self-assessment, evidence, appraisal, approval, surveys, results.'),
    "tasks": ("chiso.tasks.cli", "tasks",
                'Steering tasks: import the work programme, follow progress, see what is late.'),
    "committee": ("chiso.tasks.cli", "committee",
                'The steering committee: members, roles and the units each is in charge of.'),
    "meetings": ("chiso.tasks.cli", "meetings",
                'Meetings of the steering committee and their conclusions, each point a task.'),
    "procedures": ("chiso.dossiers.catalogue_cli", "procedures",
                'The procedure catalogue: online levels, handling units, dossiers, share of full online services.'),
    "targets": ("chiso.targets.cli", "targets",
                'Targets on indicators, their traffic lights and changes of colour.'),
    "indicators": ("chiso.targets.cli", "indicators", 'Indicators entered by hand per unit and period.'),
    "sources": ("chiso.feeds.cli", "sources",
                'Live feeds: records pulled from the one-stop systems on a schedule.'),
    "adjustments": ("chiso.adjustments.cli", "adjustments",
                'Technical deductions on an index score: add, list, withdraw.'),
    "worker": ("chiso.worker_cli", "worker",
                'Send reminders: tasks due soon, overdue tasks (escalated to the member in charge) and colour flips, at most one digest per person a day, by e-mail and/or webhook.'),
    "resident": ("chiso.resident_cli", "resident",
                 "Keep chiso's modules imported, so that each command starts in a fraction of the time."),
    "subscriptions": ("chiso.subscriptions.cli", "subscriptions",
                'Subscriptions: pages and units sent by e-mail on a schedule, and alerts.'),
    "users": ("chiso.auth.cli", "users", 'Accounts of the web application and the API.'),
    "tokens": ("chiso.auth.cli", "tokens", 'API tokens: shown once, stored hashed, revocable.'),
    "serve": ("chiso.web.cli", "serve", 'Start the web application and the HTTP API.'),
    "published": ("chiso.standing.cli", "published",
                  'Scores and ranks published by the national portal: the province\'s national standing.'),
    "reconcile": ("chiso.index.cli", "reconcile",
                  "chiso's 766 figures beside the published ones, with the likely cause of each difference."),
    "report": ("chiso.reports.cli", "report",
                'Conference reports (DOCX, PDF, XLSX): rankings, scorecards, periodic 766 reports, schedules.'),
}


#: Subcommands that another domain adds to a group when the group loads: ``users assign``
#: is the assessments' (appraisers assigned to units), so that auth stays below the domains.
LAZY_SUBCOMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (("chiso.assessments.cli", "assign_cmd"),),
    # The early warning reads the on-time rule of the index's method: the index's command.
    "dossiers": (("chiso.index.cli", "due_cmd"),),
}


class LazyGroup(click.Group):
    """A group whose subcommands in ``LAZY_COMMANDS`` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in LAZY_COMMANDS:
            module, attribute, _summary = LAZY_COMMANDS[name]
            command = getattr(importlib.import_module(module), attribute)
            for sub_module, sub_attribute in LAZY_SUBCOMMANDS.get(name, ()):
                command.add_command(getattr(importlib.import_module(sub_module), sub_attribute))
            self.add_command(command, name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                summary = click.Command(name, help=LAZY_COMMANDS[name][2])
                rows.append((name, summary.get_short_help_str(limit)))
        with formatter.section(click_gettext("Commands")):  # as click's own heading
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chiso", prog_name="chiso")
def cli() -> None:
    """chiso: steer a province's administrative reform and digital transformation from live data."""


@cli.command()
@click.option("--province", "province", required=True, help="Code of today's province, e.g. 68 for Lâm Đồng.")
@click.option("--agencies", "template", type=click.Path(exists=True, dir_okay=False), help="Agency template (YAML) to use instead of the default.")
@click.option("--records", "records", type=click.Path(file_okay=False),
              help="Folder of the store's records (dossiers, evidence, reports), kept in the store. "
                   "Default: beside an SQLite file (x.sqlite3 → x.records/).")
@click.option("--adopt-records", "adopt", type=click.Path(exists=True, file_okay=False),
              help="Move the records of an earlier chiso (a folder that belongs to no store) into this store's.")
@click.option("--format", "fmt", type=FORMATS, default="table")
def init(province: str, template: str | None, records: str | None, adopt: str | None, fmt: str) -> None:
    """Create or upgrade the database and load a province's units and their lineage."""
    from chiso import db
    from chiso.store import service as store
    from chiso.units import service

    with progress_bar(_("Preparing the database"), fmt=fmt) as bar:
        engine = db.make_engine()
        db.upgrade(engine)
        notes = store.prepare(engine, records=records, adopt=adopt)
        if bar is not None:
            bar.step(_("Loading the units of province {code}").format(code=province))
        with db.transaction(engine) as session:
            summary = service.init_province(session, province, template=template)
    _print_load_summary(summary, engine, fmt, notes=notes)


def _print_load_summary(summary, engine, fmt: str, *, notes: list[str] | None = None) -> None:
    from chiso import db
    from chiso.store import service as store

    ident = store.identity(engine)
    where = {"database": db.describe(engine), "store_id": ident.store_id,
             "records_path": str(store.records_path(engine, ident))}
    if fmt == "json":
        emit_json(summary.to_json() | where | {"notes": notes or []})
        return
    click.echo(_("Province {code} loaded into {url}.").format(code=summary.province, url=db.describe(engine)))
    click.echo(_("Store {store_id}; records in {path}.").format(store_id=ident.store_id, path=where["records_path"]))
    for note in notes or []:
        click.echo(note)
    rows = [
        {"what": what, "inserted": summary.inserted.get(what, 0), "updated": summary.updated.get(what, 0),
         "unchanged": summary.unchanged.get(what, 0)}
        for what in sorted(set(summary.inserted) | set(summary.updated) | set(summary.unchanged))
    ]
    emit_table(rows, [("what", _("rows")), ("inserted", _("inserted")), ("updated", _("updated")), ("unchanged", _("unchanged"))])


@cli.command()
@click.option("--province", default="68", show_default=True, help="Province to set up for the demonstration.")
@click.option("--dossiers", type=click.IntRange(min=1), default=200_000, show_default=True,
              help="How many demo dossiers to generate for this year.")
@click.option("--serve/--no-serve", "serve_after", default=True, show_default=True,
              help="Start the web application on the demonstration store afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(province: str, dossiers: int, serve_after: bool, host: str, port: int) -> None:
    """Set up a demonstration province on the default store, print a summary, and serve it."""
    from chiso import __version__, db
    from chiso.units import service

    # The port first: a busy one is refused before the store is touched.
    sock = None
    if serve_after:
        from chiso.web.cli import listen

        sock = listen(host, port)

    with progress_bar(_("Loading the province")):
        engine = db.make_engine()
        db.upgrade(engine)
        with db.transaction(engine) as session:
            service.init_province(session, province)
    with db.transaction(engine) as session:
        code = service.normalise_province_code(province)
        unit = service.get(session, code)
        today = date.today()
        click.echo(_("chiso {version}: demonstration store {url}").format(version=__version__, url=db.describe(engine)))
        click.echo(_("Province: {name} ({code})").format(name=unit.name, code=unit.code))
        rows = []
        for level, label in (("agency", _("agencies")), ("commune", _("communes, wards, special zones"))):
            units = service.list_units(session, level=level, within=code, as_of=today)
            rows.append({"what": label, "today": len(units)})
        before = service.list_units(session, level="commune", within=code, as_of=date(2025, 6, 30))
        districts = service.list_units(session, level="district", within=code, as_of=date(2025, 6, 30))
        rows.append({"what": _("commune (30/06/2025)"), "today": len(before)})
        rows.append({"what": _("district (30/06/2025)"), "today": len(districts)})
        emit_table(rows, [("what", _("units")), ("today", _("count"))])
        lin = service.lineage(session, code)
        if lin["predecessors"]:
            click.echo(
                _("Formed on {date} from: {names}").format(
                    date=day(lin["predecessors"][0]["effective_date"]),
                    names=", ".join(p["name"] for p in lin["predecessors"]),
                )
            )
    _demo_index(engine, code, dossiers)
    from chiso.demo import seed_demo

    with progress_bar(_("Committee, tasks, targets and rounds")):
        seed_demo(engine, code)  # what the dashboard shows
    _demo_accounts(engine, code)
    if serve_after:
        from chiso.web.cli import run_server

        run_server(host=host, port=port, engine=engine, sock=sock)


DEMO_PASSWORD_WORDS = 3


def _demo_accounts(engine, code: str) -> None:
    """Demonstration accounts, with a new random password at every run (a demo store must
    not keep a password anyone can read in the README)."""
    from chiso import db
    import secrets

    from chiso.auth import service as auth
    from chiso.auth.permissions import command_line
    from chiso.errors import NotFound
    from chiso.units import service as units

    password = "-".join(secrets.token_hex(3) for _i in range(DEMO_PASSWORD_WORDS))
    with db.transaction(engine) as session:
        communes = units.list_units(session, level="commune", within=code)
        accounts = [("admin", "admin", None, _("Province administrator (demo)"))]
        accounts += [(f"xa{i + 1}", "editor", u.code, u.name) for i, u in enumerate(communes[:2])]
        for name, role, unit, full in accounts:
            try:
                auth.get_user(session, name)
                auth.set_password(session, name=name, password=password, actor=command_line())
            except NotFound:
                auth.add_user(session, name=name, role=role, unit=unit, full_name=full, password=password,
                              actor=command_line())
    click.echo(_("Demo login: account {name}, password {password}").format(name="admin", password=password))
    for name, _role, _unit, full in accounts[1:]:
        click.echo(_("Commune editor: account {name} ({unit}), same password").format(name=name, unit=full))


def _demo_index(engine, code: str, n: int) -> None:
    """Demo dossiers in the store, and what the 766 index says of this quarter."""
    from chiso import db
    from chiso.dossiers.cli import make_demo_data
    from chiso.index import service as index_service
    from chiso.store.service import open_records
    from chiso.periods import period_for

    with progress_bar(_("Generating dossiers")) as bar:
        summary = make_demo_data(code, n=n, seed=1, progress=bar)
    click.echo(_("Demo dossiers: {read} read, {inserted} new, {unchanged} unchanged, {rejected} rejected.").format(
        **{k: summary.to_json()[k] for k in ("read", "inserted", "unchanged", "rejected")}))
    quarter = period_for("quarter", date.today())
    with progress_bar(_("Computing the 766 index")), db.transaction(engine) as session:
        rows = index_service.index_766(session, open_records(session), quarter)
    province = next(r for r in rows if r["unit"] == code)
    label = index_service.until_label(quarter)
    click.echo(_("766 index {period}: {name} {total}/{max} ({band}).").format(
        period=f"{quarter.code}, {label}" if label else quarter.code, name=province["name"],
        total=number(province["total"]) if province["total"] is not None else "–", max=number(province["max_total"], 0), band=province["band_name"]))
    on_time = index_service.on_time_indicator(index_service.method_for(None))
    communes = [r for r in rows if r["level"] == "commune" and r["indicators"][on_time]["rate"] is not None]
    last = sorted(communes, key=lambda r: r["indicators"][on_time]["rate"])[:3]
    click.echo(_("Last three communes on on-time settlement ({id}):").format(id=on_time))
    emit_table(
        [{"unit": r["unit"], "name": r["name"], "rate": 100 * r["indicators"][on_time]["rate"],
          "late": int(r["indicators"][on_time]["denominator"] - r["indicators"][on_time]["numerator"])} for r in last],
        [("unit", _("code")), ("name", _("name")), ("rate", _("on time %")), ("late", _("late"))],
    )
    click.echo(_("Why: chiso index explain 766 --period {period} --unit {unit} --indicator {id}").format(
        period=quarter.code, unit=last[0]["unit"] if last else code, id=on_time))


@cli.command("settings")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table")
def settings_cmd(fmt: str) -> None:
    """Show every setting, its environment variable and the value in force."""
    from chiso import settings

    if fmt == "markdown":
        click.echo(settings.docs_markdown(), nl=False)
        return
    rows = [{"name": s.name, "env": s.env, "value": s.shown(), "help": s.help} for s in settings.SETTINGS]
    if fmt == "json":
        emit_json(rows)
    else:
        emit_table(rows, [("name", _("setting")), ("env", _("variable")), ("value", _("value"))])


#: Seconds the cyclic garbage collector waits at a command's start (:func:`quiet_start`).
QUIET_START_SECONDS = 1.0


def quiet_start() -> None:
    """Hold the cyclic garbage collector for the first second of a command. Importing what a
    command needs (SQLAlchemy, DuckDB, the command's modules) makes hundreds of thousands
    of objects and no garbage, and the collector kept walking them: `chiso index 766
    --format json` on 2 million dossiers took 1.02–1.09 s with it and 0.94–1.01 s without
    (2 cores). A longer command gets the collector back after that second."""
    import gc
    import threading

    gc.disable()
    timer = threading.Timer(QUIET_START_SECONDS, gc.enable)
    timer.daemon = True
    timer.start()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure ends as one line on stderr and a non-zero exit code."""
    quiet_start()
    try:
        # Without standalone mode, click returns the code of a command that raised Exit.
        code = cli.main(args=argv, prog_name="chiso", standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool):
            return code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        error(exc.format_message())
        return exc.exit_code
    except click.Abort:
        error(_("interrupted"))
        return 130
    except ChisoError as exc:
        error(str(exc))
        return 1
    except OSError as exc:
        error(str(exc))
        return 1
    except Exception as exc:  # a bug: still one line, with the details on request
        if os.environ.get("CHISO_DEBUG"):
            raise
        if _is_database_error(exc):
            error(_("database error: {reason}").format(reason=str(getattr(exc, "orig", exc)).strip().splitlines()[0]))
            return 1
        error(_("internal error ({kind}): {reason}; run again with CHISO_DEBUG=1 for details").format(
            kind=exc.__class__.__name__, reason=str(exc).strip().splitlines()[0] if str(exc).strip() else ""))
        return 70
    return 0


def _is_database_error(exc: Exception) -> bool:
    # Only a command that opened a store can raise one, and it has imported SQLAlchemy.
    sa = sys.modules.get("sqlalchemy.exc")
    return sa is not None and isinstance(exc, sa.SQLAlchemyError)


if __name__ == "__main__":
    sys.exit(main())
