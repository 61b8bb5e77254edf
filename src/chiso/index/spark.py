"""Counting the measures on Apache Spark, for stores one machine cannot count in time.

The engine is chosen with ``--engine spark`` (or the setting ``engine``) and reaches Spark
through the setting ``spark_master``: ``local[*]`` runs Spark inside this process's own
JVM, ``spark://host:7077`` sends the work to a standalone cluster whose workers read the
same record files (at the same path: a shared mount). See docs/scale.md.

What runs where:

- **On Spark**, everything that reads records: the views over the store's Parquet files
  (base minus the keys the segments replaced, plus the latest version in the segments:
  :meth:`chiso.dossiers.store.DossierStore.view_sql`), the views ``records`` and
  ``feedback_records`` (:func:`chiso.index.compute.records_sql`), the per-(unit, day) table
  of every day-based measure and the per-day keys of the distinct measures
  (``compute.day_selects``, ``compute.keys_sql``), which keys occur in which period, the
  distinct and catalogue measures (``compute.distinct_measures``,
  ``compute.procedure_measures``) and the record selections of ``chiso index explain``
  (``compute.explain_sql``).
- **Here**, on the small per-(unit, day) table brought back from Spark: the running totals
  at the period bounds and at the day a running period is judged on
  (``compute.totals``, ``compute.judged_until``, in an in-memory DuckDB), the derived
  measures and the scoring engine, as for DuckDB.

An earlier version (``--as-of``, ``--version``) is read from that version's files
(``store.snapshot(kind, at_version=N)``), as the DuckDB engine reads them. Sums are whole
millionths per record (``compute.SUM_SCALE``), so both engines give every figure to the bit.

The SQL is never written twice: the statements :mod:`chiso.index.compute` generates from
the method definitions, in DuckDB's dialect, are translated by sqlglot (:func:`translate`)
with the few rewrites where the two engines' functions differ (``to_seconds``, ``epoch``,
``read_parquet``, bound parameters). Timestamps are read as Spark's ``TIMESTAMP_NTZ`` in
a UTC session, so that dates and epochs are those DuckDB computes on the same files.

Nothing is downloaded at run time: Parquet is read natively, no ``spark.jars.packages``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import duckdb

from chiso import settings
from chiso.errors import ChisoError
from chiso.i18n import _
from chiso.index import compute
from chiso.scoring.model import Method
from chiso.periods import Period

if TYPE_CHECKING:
    from sqlglot import exp

ENGINES = ("duckdb", "spark")
_MASTER = re.compile(r"^(local(\[(\*|\d+)\])?|spark://[^/\s]+)$")
_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")

_lock = threading.RLock()
_session: Any = None
_session_master: str | None = None


# ---------------------------------------------------------------------------- the session


def engine_name(engine: str | None) -> str:
    """The engine to count with: the one asked for, else the setting ``engine``."""
    name = (engine or settings.get("engine") or "duckdb").strip().lower()
    if name not in ENGINES:
        raise ChisoError(_("Unknown engine {name}: use duckdb or spark (setting CHISO_ENGINE).").format(name=name))
    return name


def check_master(master: str) -> None:
    """Refuse a master URL that is malformed or that no server answers, before Spark
    spends a minute retrying it."""
    if not _MASTER.match(master):
        raise ChisoError(_("Spark master {url} is not local[*], local[N] or spark://host:port; "
                           "fix the setting CHISO_SPARK_MASTER.").format(url=master))
    if not master.startswith("spark://"):
        return
    reasons = []
    for hostport in master[len("spark://"):].split(","):
        host, _sep, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise ChisoError(_("Spark master {url} is not local[*], local[N] or spark://host:port; "
                               "fix the setting CHISO_SPARK_MASTER.").format(url=master))
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
                return
        except OSError as e:
            reasons.append(e.strerror or type(e).__name__)
    raise ChisoError(_("The Spark master {url} cannot be reached ({reason}): start the master, or set "
                       "CHISO_SPARK_MASTER to a running one or to local[*].").format(url=master, reason="; ".join(reasons)))


def check_java() -> str:
    """The Java that Spark will start (JAVA_HOME, else ``java`` on PATH), checked to be
    there and to be Java 17 or later."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home, "bin", "java")) if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ChisoError(_("Spark needs Java, and none was found: install Debian's openjdk-17-jre-headless "
                           "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME."))
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError) as e:
        raise ChisoError(_("Spark needs Java, and {java} does not run ({reason}): install Debian's "
                           "openjdk-17-jre-headless or set JAVA_HOME.").format(java=java, reason=e)) from None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(found.group(1)) if found else 0
    if major == 1 and found.group(2):  # "1.8.0" is Java 8
        major = int(found.group(2))
    if major < 17:
        raise ChisoError(_("Spark needs Java 17 or later, and {java} is Java {version}: install Debian's "
                           "openjdk-17-jre-headless or set JAVA_HOME.").format(java=java, version=major or "?"))
    return java


def session(master: str | None = None, *, conf: Mapping[str, str] | None = None):
    """The process's SparkSession on ``master`` (default: the setting ``spark_master``),
    started on first use; asking for another master stops the current one first."""
    global _session, _session_master
    master = (master or settings.get("spark_master")).strip()
    with _lock:
        if _session is not None and _session_master == master and not _stopped(_session):
            return _session
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ChisoError(_("The Spark engine needs PySpark: pip install 'chiso[spark]'.")) from None
        check_master(master)
        check_java()
        stop()
        builder = SparkSession.builder.master(master).appName("chiso")
        for key, value in {**_defaults(master), **(conf or {})}.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as e:  # the JVM did not start, or the master refused us
            raise ChisoError(_("Spark did not start on {url}: {reason}").format(
                url=master, reason=_one_line(e))) from None
        spark.sparkContext.setLogLevel("ERROR")
        _session, _session_master = spark, master
        return spark


def _defaults(master: str) -> dict[str, str]:
    cores = os.cpu_count() or 2
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Records' timestamps have no zone (Parquet TIMESTAMP, isAdjustedToUTC=false): read
        # them as such, and make DATE casts and epochs zone-free, as DuckDB's are.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        # DuckDB's semantics for a bad cast or a division by zero in a measure: NULL, not an error.
        "spark.sql.ansi.enabled": "false",
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_LOG_CONFIG.as_uri()}",
    }
    if master.startswith("local"):
        conf["spark.sql.shuffle.partitions"] = str(2 * cores)
    return conf


def _stopped(spark) -> bool:
    try:
        return spark.sparkContext._jsc is None or spark.sparkContext._jsc.sc().isStopped()
    except Exception:
        return True


def stop() -> None:
    """Stop the process's SparkSession, if one runs."""
    global _session, _session_master
    with _lock:
        if _session is not None:
            try:
                _session.stop()
            finally:
                _session, _session_master = None, None


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else type(e).__name__


# ---------------------------------------------------------------------------- translation


def _literal(value: Any) -> exp.Expression:
    from sqlglot import exp

    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_literal(v) for v in value]
        return exp.Array(expressions=items or [exp.cast(exp.null(), "STRING")])
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def translate(sql: str, params: Mapping[str, Any] | None = None, *, files=None) -> str:
    """DuckDB SQL, as :mod:`chiso.index.compute` and the store write it, in Spark's dialect.

    ``params`` binds the ``$name`` parameters to literals; ``files(paths)`` names the Spark
    view to read in place of DuckDB's ``read_parquet([paths])``.

    sqlglot is imported here, not with the module: every ``chiso index`` command imports
    this module to learn its engine, and most never translate (a twentieth of a second)."""
    import sqlglot
    from sqlglot import exp

    params = params or {}

    def rewrite(node: exp.Expression) -> exp.Expression:
        if (isinstance(node, exp.ArrayContains) and isinstance(node.this, exp.Placeholder)
                and isinstance(params.get(node.this.name), (list, tuple, set, frozenset))):
            # list_contains($list, x) as x IN (...): Spark looks it up in a hash set, where
            # array_contains would walk the list (3,321 communes) for every row.
            values = params[node.this.name]
            return exp.In(this=node.expression, expressions=[_literal(v) for v in values] or [exp.null()])
        if isinstance(node, exp.Placeholder) and node.name in params:
            return _literal(params[node.name])
        if isinstance(node, exp.TimeToUnix):
            # DuckDB's epoch(): seconds as a double, microseconds included.
            micros = exp.Anonymous(this="unix_micros", expressions=[exp.cast(node.this, "TIMESTAMP_LTZ")])
            return exp.Div(this=exp.cast(micros, "DOUBLE"), expression=exp.Literal.number(1000000))
        if isinstance(node, exp.Anonymous) and node.name.lower() == "to_seconds":
            zero = exp.Literal.number(0)
            return exp.Anonymous(this="make_dt_interval", expressions=[zero, zero.copy(), zero.copy(), node.expressions[0]])
        if isinstance(node, exp.Table) and isinstance(node.this, exp.ReadParquet):
            if files is None:
                raise ValueError("read_parquet needs files=")
            listed = node.this.expressions[0]
            paths = [e.name for e in (listed.expressions if isinstance(listed, exp.Array) else [listed])]
            table = exp.to_table(files(paths))
            if node.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(node.alias)))
            return table
        return node

    tree = sqlglot.parse_one(sql, read="duckdb").transform(rewrite)
    missing = {p.name for p in tree.find_all(exp.Placeholder)}
    if missing:
        raise ValueError(f"unbound parameters: {sorted(missing)}")
    return tree.sql(dialect="spark")


class _Result:
    def __init__(self, rows: list[tuple]):
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None


class SparkConnection:
    """What :mod:`chiso.index.compute` needs of a connection (``execute(sql, params)``
    with ``fetchall``/``fetchone``), on Spark: DuckDB SQL in, translated, run on Spark.
    :func:`connect` makes one with the store's views."""

    def __init__(self, spark):
        self.spark = spark
        self._n = 0
        self._cached: list[Any] = []

    def frame(self, sql: str, params: Mapping[str, Any] | None = None, *, schema: str | None = None):
        """The DataFrame of a DuckDB SELECT; ``schema`` is that of the files it reads."""
        return self.spark.sql(translate(sql, params, files=lambda paths: self._files(paths, schema)))

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> _Result:
        # Through Arrow: a national result (every unit x every period) is a million rows,
        # which Row objects would bring back ten times slower.
        table = self.frame(sql, params).toArrow()
        return _Result(list(zip(*(c.to_pylist() for c in table.columns))) if table.num_columns else [])

    def view(self, name: str, sql: str, params: Mapping[str, Any] | None = None, *, cache: bool = False,
             schema: str | None = None):
        df = self.frame(sql, params, schema=schema)
        if cache:
            df = df.cache()
            self._cached.append(df)
        df.createOrReplaceTempView(name)
        return df

    def _files(self, paths: Sequence[str], schema: str | None) -> str:
        """A temporary view over Parquet files. With the record type's schema given, no
        file is opened to infer it, and columns missing from older files read as NULL
        (DuckDB's union_by_name)."""
        self._n += 1
        name = f"_files_{self._n}"
        reader = self.spark.read.schema(schema) if schema else self.spark.read.option("mergeSchema", "true")
        reader.parquet(*paths).createOrReplaceTempView(name)
        return name

    def close(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()
        for (name,) in self.spark.sql("SHOW VIEWS").select("viewName").collect():
            self.spark.catalog.dropTempView(name)


def connect(store, *, master: str | None = None, at_version: int | None = None) -> SparkConnection:
    """A Spark connection with the views ``dossiers``, ``procedures``, ``feedback``,
    ``workdays``, ``records`` and ``feedback_records`` over the store's current version (or as of
    ``at_version``), as ``store.connect()`` and :func:`compute.prepare` give them in DuckDB."""
    from chiso.dossiers.schema import RECORD_TYPES

    # A session of its own (the SparkContext shared): its temporary views are its own, so
    # two connections in one process (threads of a server) never see each other's.
    # The files first: a version that is not retained is refused before Spark starts.
    snaps = {rt.name: store.snapshot(rt.name, at_version=at_version) for rt in RECORD_TYPES.values()}
    con = SparkConnection(session(master).newSession())
    try:
        for rt in RECORD_TYPES.values():
            con.view(rt.name, store.view_sql(rt, snaps[rt.name]), schema=_schema(rt))
        days, counts, working = compute.workdays()
        con.spark.createDataFrame(list(zip(days, counts, working)) or [(date.min, 0, False)],
                                  "day date, n bigint, working boolean").createOrReplaceTempView("workdays")
        columns = [n for n, _t in RECORD_TYPES["dossiers"].columns()]
        con.view("records", compute.records_sql("dossiers", columns=columns))
        con.view("feedback_records", compute.feedback_records_sql("feedback"))
    except BaseException:
        con.close()
        raise
    return con


#: Spark's name of each column type of the stored segments (``RecordType.columns``).
_SPARK_TYPES = {"VARCHAR": "STRING", "TIMESTAMP": "TIMESTAMP_NTZ", "DATE": "DATE", "BOOLEAN": "BOOLEAN",
                "DOUBLE": "DOUBLE", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP_LTZ", "BIGINT": "BIGINT"}


def _schema(rt) -> str:
    """The Spark schema of a record type's segment files (with ``_seq``, which the view
    over several segments ranks versions by)."""
    return ", ".join(f"`{n}` {_SPARK_TYPES[t]}" for n, t in [*rt.columns(), ("_seq", "BIGINT")])


# ---------------------------------------------------------------------------- counting


class Counting:
    """The measures of one method over one store version, counted on Spark.

    Building it scans the records once per day-table source; :meth:`period_counts` then
    gives ``compute.period_counts``'s result for any targets and periods."""

    def __init__(self, store, method: Method, *, master: str | None = None, at_version: int | None = None):
        self.method = method
        self.con = connect(store, master=master, at_version=at_version)
        self.local = duckdb.connect()
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        method, con = self.method, self.con
        cols = [c for cs in compute.parts(method).values() for c, _v, _w in cs]
        frames = [con.frame(s) for s in compute.day_selects(method, "")]
        union = frames[0]
        for f in frames[1:]:
            union = union.unionByName(f, allowMissingColumns=True)
        union.createOrReplaceTempView("_day_parts")
        q = ", ".join(f"coalesce(sum(`{c[1:-1]}`), 0) AS `{c[1:-1]}`" for c in cols)
        table = con.spark.sql(f"SELECT unit, day, {q} FROM _day_parts GROUP BY unit, day").toArrow()
        self.local.register("_arrow_day_counts", table)
        self.local.execute("CREATE TABLE day_counts AS SELECT * FROM _arrow_day_counts")
        self.local.unregister("_arrow_day_counts")
        con.view("day_keys", compute.keys_sql(method, "records"), cache=True)

    def active_units(self) -> set[str]:
        """The units with at least one day of counts."""
        return {r[0] for r in self.local.execute("SELECT DISTINCT unit FROM day_counts").fetchall()}

    def period_counts(self, targets: Sequence[compute.Target], periods: Sequence[Period], *,
                      today: date | None = None) -> dict:
        """``compute.period_counts`` on these counts; ``today`` as there
        (:func:`compute.judged_until`)."""
        result = compute.totals(self.local, self.method, targets, periods, today)
        self._present(targets, periods)
        compute.distinct_measures(self.con, self.method, periods, result)
        compute.procedure_measures(self.con, self.method, targets, periods, result)
        compute.province_rollups(self.method, targets, periods, result)
        compute.derived_measures(self.method, result)
        return result

    def _present(self, targets: Sequence[compute.Target], periods: Sequence[Period]) -> None:
        """On Spark: the tables ``scope_members`` and ``periods`` of ``compute.totals``, and
        ``present(target, label, key, period)``, the keys occurring on a day of each period
        (DuckDB's ``presence.present`` groups the keys into the same buckets; here a join with the days
        of each period)."""
        spark = self.con.spark
        spark.createDataFrame([(t.code, m) for t in targets for m in t.members] or [("", "")],
                              "target string, unit string").createOrReplaceTempView("scope_members")
        spark.createDataFrame([(p.code, p.start, p.end + timedelta(days=1)) for p in periods],
                              "code string, start date, stop date").createOrReplaceTempView("periods")
        # Days fall into buckets between consecutive period bounds; a period is a run of
        # buckets. Keys are made distinct per bucket first (a few dozen a year instead of
        # 365 days), then per period: only equi-joins with small, broadcast tables.
        bounds = sorted({p.start for p in periods} | {p.end + timedelta(days=1) for p in periods})
        day_buckets, bucket_periods = [], []
        for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
            day_buckets += [(lo + timedelta(days=k), i) for k in range((hi - lo).days)]
            bucket_periods += [(i, p.code) for p in periods if p.start <= lo and hi <= p.end + timedelta(days=1)]
        spark.createDataFrame(day_buckets or [(date.min, -1)], "day date, bucket int").createOrReplaceTempView("day_buckets")
        spark.createDataFrame(bucket_periods or [(-1, "")], "bucket int, code string").createOrReplaceTempView("bucket_periods")
        present = spark.sql("""
            WITH by_bucket AS (
                SELECT DISTINCT k.unit, k.label, k.key, d.bucket
                FROM day_keys k JOIN day_buckets d ON d.day = k.day WHERE k.n > 0
            ), by_unit AS (
                SELECT DISTINCT b.unit, b.label, b.key, bp.code AS period
                FROM by_bucket b JOIN bucket_periods bp ON bp.bucket = b.bucket
            )
            SELECT DISTINCT sm.target, u.label, u.key, u.period
            FROM by_unit u JOIN scope_members sm ON sm.unit = u.unit
        """).cache()
        self.con._cached.append(present)
        present.createOrReplaceTempView("present")

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self.local.close()

