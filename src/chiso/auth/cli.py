"""``chiso users`` and ``chiso tokens``: accounts and API tokens from the command line."""

from __future__ import annotations

import sys

import click

from chiso import db
from chiso.auth import service
from chiso.auth.permissions import ROLES, TOKEN_SCOPES, command_line
from chiso.clitools import FORMATS, engine_ready
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.output import emit_json, emit_table


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.readline()
        password = text.rstrip("\r\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    if not password:
        raise ChisoError(_("No password given."))
    return password


@click.group()
def users() -> None:
    """Accounts of the web application and the API."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--unit", help="Code of the unit whose subtree the account works in (none: the whole province).")
@click.option("--full-name", help="The person's name, as shown in pages and the audit trail.")
@click.option("--email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--must-change", is_flag=True, help="The user must choose a new password at the first login.")
@click.option("--source", "sources", multiple=True,
              help="A source of records the account may write (repeatable); none: the sources its unit owns.")
def add_cmd(name: str, role: str, unit: str | None, full_name: str | None, email: str | None,
            password_stdin: bool, must_change: bool, sources: tuple[str, ...]) -> None:
    """Add an account (e.g. the first administrator)."""
    password = _read_password(password_stdin)
    with db.transaction(engine_ready()) as session:
        user = service.add_user(session, name=name, role=role, unit=unit, full_name=full_name, email=email,
                               password=password, must_change_password=must_change, actor=command_line(),
                               sources=sources)
        click.echo(_("Account {name} added ({role}).").format(name=user.name, role=user.role))


@users.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
def list_cmd(fmt: str) -> None:
    """List the accounts."""
    with db.transaction(engine_ready()) as session:
        rows = service.list_users(session, actor=command_line())
    if fmt == "json":
        emit_json(rows)
        return
    emit_table(rows, [("name", _("account")), ("full_name", _("name")), ("role", _("role")), ("unit", _("unit")),
                      ("active", _("active"))])


@users.command("sources")
@click.argument("name")
@click.argument("sources", nargs=-1)
def sources_cmd(name: str, sources: tuple[str, ...]) -> None:
    """Set the sources of records an account may write (none: the sources its unit owns)."""
    with db.transaction(engine_ready()) as session:
        user = service.set_sources(session, name=name, sources=sources, actor=command_line())
        granted = user.sources.split()
    if granted:
        click.echo(_("{name} may write the sources: {sources}.").format(name=name, sources=", ".join(granted)))
    else:
        click.echo(_("{name} may write the sources its unit owns.").format(name=name))


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--must-change/--no-must-change", default=True, show_default=True,
              help="The user must choose a new password at the next login.")
def password_cmd(name: str, password_stdin: bool, must_change: bool) -> None:
    """Reset an account's password (ends all its sessions)."""
    password = _read_password(password_stdin)
    with db.transaction(engine_ready()) as session:
        service.set_password(session, name=name, password=password, must_change=must_change, actor=command_line())
    click.echo(_("Password of {name} reset.").format(name=name))


def _set_active(name: str, active: bool) -> None:
    with db.transaction(engine_ready()) as session:
        service.set_active(session, name=name, active=active, actor=command_line())
    message = _("Account {name} activated.") if active else _("Account {name} deactivated.")
    click.echo(message.format(name=name))


@users.command("deactivate")
@click.argument("name")
def deactivate_cmd(name: str) -> None:
    """Deactivate an account: its sessions and tokens end; its history stays."""
    _set_active(name, False)


@users.command("activate")
@click.argument("name")
def activate_cmd(name: str) -> None:
    """Activate an account again."""
    _set_active(name, True)


@users.command("unlock")
@click.argument("name", required=False)
@click.option("--address", help="Also let this address try again (after too many failed logins from it).")
def unlock_cmd(name: str | None, address: str | None) -> None:
    """Let an account (from every address) or an address log in again now, without waiting."""
    if not name and not address:
        raise ChisoError(_("Say which account or address to unlock."))
    with db.transaction(engine_ready()) as session:
        service.unlock(session, name=name, address=address, actor=command_line())
    click.echo(_("Unlocked: {what}.").format(what=", ".join(w for w in (name, address) if w)))


@click.group()
def tokens() -> None:
    """API tokens: shown once, stored hashed, revocable."""


@tokens.command("create")
@click.option("--user", "user", required=True, help="The account the token acts for.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(TOKEN_SCOPES),
              help="Limit the token to this scope (repeatable); none: all the account may do.")
@click.option("--name", help="What the token is for (e.g. the one-stop-shop connector).")
@click.option("--days", type=click.IntRange(min=1), help="Expire after this many days.")
@click.option("--source", "sources", multiple=True,
              help="Limit the token to writing this source of records (repeatable); none: its account's.")
@click.option("--indicator", "indicators", multiple=True,
              help="Limit the token to entering values of this manual indicator (repeatable); none: any.")
def create_cmd(user: str, scopes: tuple[str, ...], name: str | None, days: int | None,
               sources: tuple[str, ...], indicators: tuple[str, ...]) -> None:
    """Create a token and print it (only the token: it is not shown again)."""
    with db.transaction(engine_ready()) as session:
        secret, _row = service.create_token(session, user=user, scopes=scopes, name=name, days=days,
                                             actor=command_line(), sources=sources,
                                             indicators=indicators)
    click.echo(secret)


@tokens.command("list")
@click.option("--user", "user")
@click.option("--format", "fmt", type=FORMATS, default="table")
def tokens_list_cmd(user: str | None, fmt: str) -> None:
    """List tokens (never the secrets)."""
    with db.transaction(engine_ready()) as session:
        rows = service.list_tokens(session, user=user, actor=command_line())
    if fmt == "json":
        emit_json(rows)
        return
    for r in rows:
        r["scopes"] = " ".join(r["scopes"]) or _("all")
    emit_table(rows, [("id", "id"), ("prefix", _("token")), ("user", _("account")), ("scopes", _("scopes")),
                      ("last_used_at", _("last used")), ("revoked", _("revoked"))])


@tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke_cmd(token_id: int) -> None:
    """Revoke a token by its id."""
    with db.transaction(engine_ready()) as session:
        service.revoke_token(session, token_id=token_id, actor=command_line())
    click.echo(_("Token {id} revoked.").format(id=token_id))
