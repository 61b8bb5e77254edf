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
from urllib.parse import urlsplit

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
    #: Printed through this, which hides the secret part (a password or token inside a URL).
    mask: Callable[[str], str] | None = None

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
        if self.mask is not None:
            return self.mask(self.value())
        return self.value()


_SECRET_QUERY = ("password", "passwd", "pass", "pwd", "secret", "token", "key", "api_key", "apikey", "access_token", "sig", "signature")


def mask_url_password(url: str) -> str:
    """A store URL without its password (in the user part or in the query), so ``chiso
    settings`` can be pasted into a ticket."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = "&".join(
        f"{k}=***" if k.lower() in _SECRET_QUERY else (f"{k}={v}" if sep else k)
        for k, sep, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing to hide; and rebuilding would spoil ``sqlite:////abs/path``
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def mask_url_path(url: str) -> str:
    """A webhook URL reduced to its scheme and host: chat bridges carry their token in the
    path or the query, and a password may sit in the user part."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    hidden = parts.path not in ("", "/") or parts.query or "@" in parts.netloc
    return f"{parts.scheme}://{host}" + ("/***" if hidden else parts.path)


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
        mask=mask_url_password,
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
        "reconcile_tolerance",
        "Points by which chiso's 766 figure may differ from the published one before `chiso reconcile` "
        "flags the difference (the portal publishes two decimals).",
        lambda: "0.01",
    ),
    Setting(
        "duckdb_memory_limit",
        "Memory the columnar engine (DuckDB) may use per connection before it spills to disk, "
        "e.g. `1GB`. The default keeps an import of ten million dossiers from one file under 2 GB "
        "(its checked rows take 1.1 GB: at `1GB` they spill, and the import takes 15% longer), "
        "and the index far under it.",
        lambda: "1536MB",
    ),
    Setting(
        "compact_after_segments",
        "The worker merges a record type's files into one sorted base once this many imports "
        "(a live feed's pulls among them) have added files after the last base: every scan reads "
        "each of them. 0: never (compact by hand with `chiso dossiers compact`).",
        lambda: "24",
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
        "report_number_symbol",
        "Abbreviation of the issuing body in the number line of the documents (Nghị định "
        "30/2020/NĐ-CP): `BCĐ` gives \"Số: …/TB-BCĐ\" on a notice and \"Số: …/BC-BCĐ\" on a report. "
        "The number itself is given per document (`--number`).",
        lambda: "BCĐ",
    ),
    Setting(
        "report_signer_name",
        "Name of who signs the documents, printed under the signature; `--signer` overrides it.",
        lambda: "",
        default_doc="empty (room for the name)",
    ),
    Setting(
        "report_signer_title",
        "Title of who signs the documents, under \"TM. BAN CHỈ ĐẠO\" (e.g. `Trưởng ban`, "
        "`KT. Trưởng ban / Phó Trưởng ban`); `--signer-title` overrides it.",
        lambda: "",
        default_doc="empty: Trưởng ban (Head)",
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
        "URL the worker POSTs each digest to as JSON (e.g. a chat group's bridge); empty: none. "
        "Printed as its scheme and host only (its path usually carries a token).",
        lambda: "",
        default_doc="empty (no webhook)",
        mask=mask_url_path,
    ),
    Setting(
        "person_emails",
        "E-mail addresses of task owners who are not committee members, as "
        "`name=address;name=address` (members' addresses come from the committee table).",
        lambda: "",
        default_doc="empty",
    ),
    Setting(
        "due_within_days",
        "Early warning: the open dossiers whose due time falls within this many working days (or has "
        "passed) are listed by `chiso dossiers due`, the \"Sắp đến hạn\" pages and the worker's digests.",
        lambda: "2",
    ),
    Setting(
        "due_contacts",
        "Who hears of a unit's dossiers falling due in the worker's digest, besides the committee "
        "members in charge of the unit: `UNIT=person,person;UNIT=person`, each person a member's code "
        "or name, a name in `person_emails`, or an address.",
        lambda: "",
        default_doc="empty",
    ),
    Setting(
        "digest_max_attempts",
        "How many times the worker tries to send one digest before giving up for that day.",
        lambda: "3",
    ),
    Setting(
        "feed_timeout_seconds",
        "How long the worker waits for one page of a feed (`chiso sources`) before it counts the "
        "attempt as failed, in seconds.",
        lambda: "30",
    ),
    Setting(
        "feed_page_attempts",
        "How many times a pull asks for one page (after a timeout, a broken connection or an HTTP "
        "5xx answer), waiting 1, 2, 4... seconds between, before the pull fails.",
        lambda: "3",
    ),
    Setting(
        "feed_retry_seconds",
        "After a failed pull, the worker tries the source again after this many seconds, doubling "
        "with each failure in a row, at most an hour (or the source's own schedule, if shorter).",
        lambda: "30",
    ),
    Setting(
        "feed_lag_amber_minutes",
        "A feed whose data is older than this many minutes is shown amber on the dashboard.",
        lambda: "15",
    ),
    Setting(
        "feed_lag_red_minutes",
        "A feed whose data is older than this many minutes is shown red on the dashboard.",
        lambda: "60",
    ),
    Setting(
        "feed_key",
        "Key that encrypts the feeds' tokens in the database (any long random text; never printed). "
        "Empty: a key file `feeds.key` (mode 600) in the store's records folder, made on first use. "
        "Changing it makes the stored tokens unreadable: add them again.",
        lambda: "",
        default_doc="empty",
        secret=True,
    ),
    Setting(
        "subscription_send_at",
        "Local time (HH:MM, in `timezone`) the worker sends subscriptions at: daily ones every day, "
        "weekly ones on Mondays.",
        lambda: "07:00",
    ),
    Setting(
        "public_url",
        "Address of the dashboard as its readers open it (e.g. `https://chiso.tinh.gov.vn`), for the "
        "links in subscription e-mails; empty: no link.",
        lambda: "",
        default_doc="empty (no link)",
    ),
    Setting(
        "wall_interval",
        "Seconds each screen of the wall view (`/wall`) stays before the next; `?interval=` overrides it.",
        lambda: "20",
    ),
    Setting(
        "wall_refresh",
        "Seconds between two fetches of fresh figures by the wall view; between them, and when the "
        "server cannot be reached, it keeps cycling what it has.",
        lambda: "60",
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
        "Failed logins for one account from one address, within the lock time, after which each "
        "further attempt from that address must wait (the wait doubles with every failure, up to "
        "the lock time). Other addresses are not slowed: the account is never locked for everyone.",
        lambda: "5",
    ),
    Setting(
        "login_delay_seconds",
        "The first wait once an account and address reach `login_max_failures`, in seconds; "
        "it doubles with each further failure.",
        lambda: "2",
    ),
    Setting(
        "login_address_max_failures",
        "Failed logins from one address (to any accounts) within the lock time after which that "
        "address alone is refused until the lock time has passed or an administrator unlocks it.",
        lambda: "20",
    ),
    Setting(
        "login_lock_minutes",
        "How long failed logins count against an address, in minutes; also the longest wait.",
        lambda: "15",
    ),
    Setting(
        "max_upload_mb",
        "Largest request body the web server accepts (uploads of dossiers and evidence), in MB.",
        lambda: "50",
    ),
    Setting(
        "max_unpacked_mb",
        "Largest size a spreadsheet (XLSX, a zip of XML) may unpack to, in MB, and at most a quarter "
        "of it for its table of texts (shared strings), which the reader keeps in memory: a small "
        "file that unpacks to gigabytes is refused before it is read.",
        lambda: "200",
    ),
    Setting(
        "max_columns",
        "Most columns a spreadsheet or CSV row may have.",
        lambda: "300",
    ),
    Setting(
        "max_cell_chars",
        "Most characters in one cell (Excel's own limit is 32,767).",
        lambda: "32767",
    ),
    Setting(
        "max_import_seconds",
        "Longest time a spreadsheet may take to read, in seconds, before its import is refused "
        "(nothing is written); a CSV of the same rows is read many times faster.",
        lambda: "900",
    ),
    Setting(
        "resident",
        "on: a command hands itself to the resident process (`chiso resident`) when one runs for "
        "this copy of chiso, and starts in a fraction of the time; off: every command starts on its own.",
        lambda: "on",
    ),
    Setting(
        "resident_socket",
        "The Unix socket of the resident process (`chiso resident`); empty: one of this user's for "
        "this copy of chiso, in $XDG_RUNTIME_DIR or /tmp/chiso-UID.",
        lambda: "",
        default_doc="empty",
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
