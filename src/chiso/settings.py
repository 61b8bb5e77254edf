"""The one table of settings.

Every setting is declared once here, with its default and help text. The same table
feeds the environment variables (``CHISO_<NAME>``), ``chiso settings``, and the
generated page ``docs/settings.md`` (a test keeps that page in step with this table).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import platformdirs


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    default: Callable[[], str]
    #: How the default is described in the docs, where it depends on the machine.
    default_doc: str | None = None
    #: Never printed: ``chiso settings`` shows only whether it is set.
    secret: bool = False

    @property
    def env(self) -> str:
        return "CHISO_" + self.name.upper()

    def value(self) -> str:
        raw = os.environ.get(self.env)
        return raw if raw not in (None, "") else self.default()

    def shown(self) -> str:
        """The value as ``chiso settings`` may print it."""
        if self.secret:
            return "***" if self.value() else ""
        return self.value()


def _data_dir() -> str:
    return platformdirs.user_data_dir("chiso", appauthor=False)


def _default_database_url() -> str:
    return "sqlite:///" + str(Path(get("data_dir")) / "chiso.sqlite3")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "Folder of the default embedded store (`chiso.sqlite3` and its records folder "
        "`chiso.records/`) and of the records folders of PostgreSQL stores given no `--records`.",
        _data_dir,
        default_doc="the per-user data folder (e.g. `~/.local/share/chiso` on Linux)",
    ),
    Setting(
        "database_url",
        "SQLAlchemy URL of the operational store: an SQLite file (embedded, the default) "
        "or PostgreSQL, e.g. `postgresql+psycopg://user@127.0.0.1:5432/chiso`.",
        _default_database_url,
        default_doc="`sqlite:///` + `chiso.sqlite3` in the data folder",
    ),
    Setting(
        "records_path",
        "Records folder of the store (dossier records, evidence files, reports), overriding the one "
        "the store keeps: e.g. a second application server that mounts the folder elsewhere. "
        "The folder names its store; another store's folder is refused.",
        lambda: "",
        default_doc="empty: the store's own (beside an SQLite file, `lamdong.sqlite3` → `lamdong.records/`; "
                    "for PostgreSQL the folder given to `chiso init --records`)",
    ),
    Setting(
        "duckdb_memory_limit",
        "Memory the columnar engine (DuckDB) may use per connection before it spills to disk, "
        "e.g. `1GB`; keeps the index within a small server's memory at ten million dossiers.",
        lambda: "1GB",
    ),
    Setting(
        "records_retention_days",
        "How long earlier versions of the dossier records stay available to `chiso index 766 "
        "--as-of`/`--version` and `chiso index diff`, in days; compaction keeps the files they need "
        "(a base and the imports after it) and deletes the rest.",
        lambda: "400",
    ),
    Setting(
        "engine",
        "Engine that counts the index measures in the records: `duckdb` (in this process) or "
        "`spark` (Apache Spark at `spark_master`; needs `pip install 'chiso[spark]'` and Java 17). "
        "`--engine` on `chiso index` overrides it; see docs/scale.md.",
        lambda: "duckdb",
    ),
    Setting(
        "spark_master",
        "Where the `spark` engine runs: `local[*]` (Spark inside this process, every core), "
        "`local[N]`, or a standalone cluster's master, `spark://host:7077`, whose workers see "
        "the records folder at the same path.",
        lambda: "local[*]",
    ),
    Setting(
        "lang",
        "Language of messages and pages: `vi` (Vietnamese, the default) or `en`.",
        lambda: "vi",
    ),
    Setting(
        "reminder_days",
        "The worker's digests list the tasks due within this many days (and every overdue task).",
        lambda: "3",
    ),
    Setting(
        "smtp_host",
        "SMTP server the worker sends digests through; empty: no e-mail is sent.",
        lambda: "",
        default_doc="empty (no e-mail)",
    ),
    Setting("smtp_port", "Port of the SMTP server.", lambda: "25"),
    Setting("smtp_from", "Sender address of the digests.", lambda: "chiso@localhost"),
    Setting("smtp_user", "User name for SMTP login; empty: no login.", lambda: "", default_doc="empty"),
    Setting("smtp_password", "Password for SMTP login (never printed).", lambda: "", default_doc="empty", secret=True),
    Setting(
        "smtp_starttls",
        "`true` to switch the SMTP connection to TLS (STARTTLS) before logging in.",
        lambda: "false",
    ),
    Setting(
        "webhook_url",
        "URL the worker POSTs each digest to as JSON (e.g. a chat group's bridge); empty: none.",
        lambda: "",
        default_doc="empty (no webhook)",
    ),
    Setting(
        "person_emails",
        "E-mail addresses of task owners who are not committee members, as "
        "`name=address;name=address` (members' addresses come from the committee table).",
        lambda: "",
        default_doc="empty",
    ),
    Setting(
        "digest_max_attempts",
        "How many times the worker tries to send one digest before giving up for that day.",
        lambda: "3",
    ),
    Setting(
        "timezone",
        "Time zone of timestamps given without an offset.",
        lambda: "Asia/Ho_Chi_Minh",
    ),
    Setting(
        "session_hours",
        "How long a web login lasts without activity, in hours.",
        lambda: "12",
    ),
    Setting(
        "secure_cookies",
        "Mark session cookies Secure: `auto` (when the request came over HTTPS, including "
        "behind a proxy that says so with X-Forwarded-Proto), `on` or `off`.",
        lambda: "auto",
    ),
    Setting(
        "login_max_failures",
        "Failed logins for one account (or 4× that from one address) within the lock time "
        "before further attempts are refused.",
        lambda: "5",
    ),
    Setting(
        "login_lock_minutes",
        "How long failed logins count against an account or an address, in minutes.",
        lambda: "15",
    ),
    Setting(
        "max_upload_mb",
        "Largest request body the web server accepts (uploads of dossiers and evidence), in MB.",
        lambda: "50",
    ),
    Setting(
        "trusted_proxies",
        "Addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers are "
        "believed, comma-separated; empty: none.",
        lambda: "",
        default_doc="empty",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The value in force: the environment variable if set, else the default."""
    return _BY_NAME[name].value()


def docs_markdown() -> str:
    """The settings page of the docs, generated from :data:`SETTINGS`."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated by `chiso settings --format markdown`; do not edit by hand. -->",
        "",
        "Each setting is read from its environment variable; `chiso settings` shows the",
        "values in force.",
        "",
        "| setting | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = s.default_doc or f"`{s.default()}`"
        lines.append(f"| `{s.name}` | `{s.env}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
