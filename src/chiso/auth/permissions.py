"""The one permission check, used by pages, the API and anything else that acts for a person.

An :class:`Actor` is who is asking: a user through a web session or an API token, or the
public. A user's *scope* is a unit and everything below it in today's structure, together
with the former units whose data now belongs there (through the 2025 mergers), so a commune
editor sees their commune's history too. Province-wide users (administrator, steering, and
anyone whose unit is the province) have no limit.

The rule that matters for privacy: outside one's scope, an object does not exist. Callers
raise :class:`~chiso.errors.NotFound` there (HTTP 404), and :class:`Forbidden` (403) only
for objects the actor can see but may not change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chiso.errors import ChisoError, NotFound
from chiso.i18n import _

ROLES = ("admin", "steering", "editor", "appraiser", "viewer")

#: What each role may do, before scope. ``read`` covers reading data in scope (and the audit
#: log in scope); the ``…:write`` actions enter a unit's own data; ``manage`` defines
#: province-wide things (rounds, targets, tasks, groups) and runs their workflow;
#: ``appraise`` needs an assignment too; ``admin`` manages users and tokens.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "dossiers:write", "assessments:write", "tasks:write", "targets:write",
                        "appraise", "manage", "admin"}),
    "steering": frozenset({"read", "manage"}),
    "editor": frozenset({"read", "dossiers:write", "assessments:write", "tasks:write", "targets:write"}),
    "appraiser": frozenset({"read", "appraise"}),
    "viewer": frozenset({"read"}),
    "public": frozenset(),
}

#: Scopes an API token may be limited to: the same words as the actions.
TOKEN_SCOPES = ("read", "dossiers:write", "assessments:write", "tasks:write", "targets:write",
                "appraise", "manage", "admin")


#: What each action allows, for the generated table of docs/web.md (English, like the docs).
ACTION_DOCS: dict[str, str] = {
    "read": "read the data of units in scope (indexes, assessments, tasks, targets) and the audit trail in scope",
    "dossiers:write": "upload dossier records (and feedback) for units in scope; the procedure catalogue province-wide only",
    "assessments:write": "save self-assessment values and notes, attach evidence, submit, for units in scope",
    "tasks:write": "report progress on tasks of units in scope, with evidence; mark them done",
    "targets:write": "enter manual indicator values for units in scope",
    "appraise": "appraise the rounds and units one is assigned to (administrators: any)",
    "manage": "province-wide only: approve, publish and reopen rounds, cancel tasks",
    "admin": "province-wide only: accounts and everyone's tokens; a token limited to other scopes manages no tokens, not even its own",
}


def roles_markdown() -> str:
    """The table of roles and actions in docs/web.md, generated from :data:`ROLE_ACTIONS`."""
    roles = [r for r in ROLES]
    lines = ["| action (token scope) | " + " | ".join(roles) + " | what it allows |",
             "|---|" + "---|" * len(roles) + "---|"]
    for action in TOKEN_SCOPES:
        marks = " | ".join("✓" if action in ROLE_ACTIONS[r] else "" for r in roles)
        lines.append(f"| `{action}` | {marks} | {ACTION_DOCS[action]} |")
    lines.append("| published results | ✓ | ✓ | ✓ | ✓ | ✓ | everyone, without logging in (`/api/v1/public/…`) |")
    return "\n".join(lines) + "\n"


def role_name(role: str) -> str:
    """A role as a reader names it (the code stays in the store and the API)."""
    return {"admin": _("administrator"), "steering": _("steering committee"), "editor": _("unit editor"),
            "appraiser": _("appraiser"), "viewer": _("viewer")}.get(role, role)


def role_help() -> dict[str, str]:
    return {
        "admin": _("administrator: everything, including accounts and tokens"),
        "steering": _("steering committee: reads everything in the province, manages rounds, targets and tasks"),
        "editor": _("unit editor: enters the data of their unit and the units below it"),
        "appraiser": _("appraiser: appraises the rounds and units assigned to them"),
        "viewer": _("viewer: reads the data of their unit and the units below it"),
    }


class Forbidden(ChisoError):
    """The actor can see the object but may not do this to it (HTTP 403)."""


class Unauthenticated(ChisoError):
    """No valid login or token (HTTP 401)."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    user_id: int | None = None
    #: Root of the scope (a unit id); None: the whole province.
    unit_id: int | None = None
    #: Unit ids in scope; None: all.
    units: frozenset[int] | None = None
    #: Scopes of the API token in use; None: all the role allows (web sessions, full tokens).
    token_scopes: frozenset[str] | None = None
    via: str = "web"
    address: str | None = None
    token: str | None = None
    #: (round id, unit id or None for the whole round) the appraiser is assigned to.
    assignments: frozenset[tuple[int, int | None]] = field(default_factory=frozenset)
    must_change_password: bool = False
    #: Sources of records this actor may write (granted to the user, narrowed by the token);
    #: None: no grant limits it (ownership of each source still does).
    sources: frozenset[str] | None = None
    #: Manual indicators this actor may enter values of (a token limited to some); None: any.
    indicators: frozenset[str] | None = None

    @property
    def is_public(self) -> bool:
        return self.role == "public"

    @property
    def province_wide(self) -> bool:
        return not self.is_public and self.units is None

    def sees(self, unit_id: int | None) -> bool:
        """Whether data of ``unit_id`` exists for this actor (None: province-level data)."""
        if self.is_public:
            return False
        if self.units is None:
            return True
        return unit_id is not None and unit_id in self.units

    def may(self, action: str) -> bool:
        """Whether the role and the token allow ``action`` at all (scope aside)."""
        if action not in ROLE_ACTIONS.get(self.role, frozenset()):
            return False
        return self.token_scopes is None or action in self.token_scopes

    def assigned(self, round_id: int, unit_id: int | None) -> bool:
        return (round_id, None) in self.assignments or (round_id, unit_id) in self.assignments


PUBLIC = Actor(name="public", role="public", via="web")


def can(actor: Actor, action: str, *, unit_id: int | None = None, round_id: int | None = None) -> bool:
    """The check. ``unit_id`` None means province-level data (allowed to province-wide
    actors only, except reading, which any logged-in actor may do for province totals)."""
    if not actor.may(action):
        return False
    if action == "appraise":
        if actor.role == "admin":
            return True
        return round_id is not None and actor.assigned(round_id, unit_id)
    if action in ("manage", "admin"):
        return actor.province_wide
    if unit_id is None:
        return action == "read" or actor.province_wide
    return actor.sees(unit_id) or (action == "read" and round_id is not None and actor.assigned(round_id, unit_id))


def require(actor: Actor, action: str, *, unit_id: int | None = None, round_id: int | None = None,
            what: str | None = None) -> None:
    """Raise NotFound when the object is outside what the actor sees, Forbidden when it is
    seen but the action is not allowed; return when allowed."""
    if can(actor, action, unit_id=unit_id, round_id=round_id):
        return
    visible = can(actor, "read", unit_id=unit_id, round_id=round_id) if actor.may("read") else actor.sees(unit_id)
    if unit_id is not None and not visible:
        raise NotFound(what or _("Not found."))
    if actor.is_public:
        raise Unauthenticated(_("Log in to do this."))
    raise Forbidden(_("You are not allowed to do this."))


def scope_units(session: Session, unit_id: int, *, on: date | None = None) -> frozenset[int]:
    """A unit, everything below it on ``on`` (today by default), and the former units whose
    data restates onto any of those."""
    from chiso.units.models import LineageLink, UnitParent

    on = on or date.today()
    children: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(UnitParent.unit_id, UnitParent.parent_id).where(
            or_(UnitParent.valid_from.is_(None), UnitParent.valid_from <= on),
            or_(UnitParent.valid_to.is_(None), UnitParent.valid_to > on),
        )
    )
    for child, parent in rows:
        children[parent].append(child)
    found: set[int] = set()
    stack = [unit_id]
    while stack:
        uid = stack.pop()
        if uid not in found:
            found.add(uid)
            stack.extend(children[uid])
    # Predecessors through lineage (merged communes, abolished districts' data).
    into: dict[int, list[int]] = defaultdict(list)
    for src, dst in session.execute(
        select(LineageLink.from_unit_id, LineageLink.to_unit_id).where(LineageLink.share > 0)
    ):
        into[dst].append(src)
    stack = list(found)
    while stack:
        uid = stack.pop()
        for src in into[uid]:
            if src not in found:
                found.add(src)
                stack.append(src)
    return frozenset(found)


def command_line(name: str | None = None) -> Actor:
    """Whoever runs ``chiso`` on this machine: every right on the whole province (access to
    the machine's account is the access control), recorded in the audit trail as
    ``cli:<user>``, as an entry made without an actor is.

    ``name``: the person a command says acts (``--by``, ``--actor``); records and the audit
    trail name them, and the entry's address keeps the machine's account, so that who typed
    the command is not lost."""
    if name is not None:  # blank stays blank: an operation that needs a name refuses it
        return Actor(name=name.strip(), role="admin", via="cli", address=cli_actor_name())
    return Actor(name=cli_actor_name(), role="admin", via="cli")


def cli_actor_name() -> str:
    """How the audit trail names the command line of this machine: ``cli:<user>``."""
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except Exception:  # no user name in some containers
        return "cli"
