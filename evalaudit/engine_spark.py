"""The Spark engine: the same named queries (evalaudit/sql/*.sql) on a Spark session over the same Parquet
store, for teams whose judgments live in a lakehouse.

Why it looks like this:
- **Same seam as DuckDB** (`evalaudit.engine.Engine`): views named after the store's tables, ``query(name,
  **params)`` returning Arrow. Stages never learn which engine they talk to.
- **Parameters are bound, never formatted in.** Queries write ``$name``; Spark's named parameter markers are
  ``:name``, so the marker is rewritten (outside string literals, quoted identifiers and comments) and the
  values go to ``spark.sql(text, args=...)``.
- **Identifiers are double-quoted** by `evalaudit.sql.quote_ident` (one query splices a quoted slice column).
  The session therefore runs with ``spark.sql.ansi.enabled=true`` and
  ``spark.sql.ansi.doubleQuotedIdentifiers=true`` (Spark >= 3.4), so ``"col"`` is an identifier exactly as in
  DuckDB; the named queries write string literals with single quotes only. ANSI mode also makes Spark 3.5 and
  4.x behave alike (a bare division by zero raises on both; the portable subset forbids it anyway).
- **Same snapshot semantics as `Store.engine()`**: a view reads exactly the files listed when the engine is
  built; a table without files is an empty view of the canonical schema, so queries still bind.
- **Same column types as DuckDB**: each result is read as Arrow batches, each batch cast to the DataFrame's
  declared schema, then `normalise` maps the Arrow types Spark may use where DuckDB uses others (large or view
  strings and binaries, timestamp units) and makes every column nullable, as DuckDB's are. The parity suite
  (tests/spark) checks every query the audit runs for equal result schemas on both engines.
- **Order**: where a query's row order matters to the stage code (bootstraps over aggregated rows), the query
  says ``ORDER BY``; Spark then returns rows in that order, as DuckDB does.
- **Aggregates only to the driver**: the engine returns what a named query returns and never collects a store
  table itself; tables an earlier stage registers go to Spark as a DataFrame built from Arrow.

pyspark is an optional extra: without it, building a session raises `SparkUnavailable`, whose message says how
to install it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from evalaudit import sql as named_sql
from evalaudit.engine import DERIVED_VIEWS, with_ingest_time
from evalaudit.errors import UnusableInput
from evalaudit.sql import quote_ident

if TYPE_CHECKING:
    import pyarrow.dataset

INSTALL_HINT = "the spark engine needs pyspark: install it with pip install 'evalaudit[spark]'"

#: Settings every evalaudit session gets (identifier quoting and UTC are part of the query contract).
REQUIRED_CONF: dict[str, str] = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.session.timeZone": "UTC",
}
#: Defaults for every session (``--spark-conf`` overrides them): Arrow transfers between driver and JVM.
DEFAULTS: dict[str, str] = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
#: Defaults for a local-mode session (no master given): quiet, off the network.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "2g",
}


class SparkUnavailable(UnusableInput):
    """pyspark (or Java) is not available; the message says how to install it."""


def _pyspark_major() -> int:
    try:
        from importlib.metadata import version

        return int(version("pyspark").split(".")[0])
    except Exception:  # not installed: the session cannot start anyway
        return 0


_PYSPARK_MAJOR = _pyspark_major()


def require_pyspark() -> None:
    """Raise `SparkUnavailable` (one sentence with the install command) unless pyspark can be imported."""
    _import_pyspark()


def _import_pyspark() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(INSTALL_HINT) from None
    return SparkSession


# -- parameter markers ------------------------------------------------------------------------------------
_TOKENS = re.compile(
    r"""('(?:[^']|'')*')          # string literal
      | ("(?:[^"]|"")*")          # quoted identifier
      | (--[^\n]*)                # line comment
      | (/\*.*?\*/)               # block comment
      | \$([A-Za-z_][A-Za-z0-9_]*)  # $name parameter
    """,
    re.VERBOSE | re.DOTALL,
)


def to_spark_markers(text: str) -> tuple[str, list[str]]:
    """``$name`` markers rewritten as Spark's ``:name``; returns the text and the names used (in order).

    Markers inside string literals, quoted identifiers and comments are left alone."""
    used: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(5)
        if name is None:
            return m.group(0)
        if name not in used:
            used.append(name)
        return f":{name}"

    return _TOKENS.sub(sub, text), used


def _bind_value(value: Any) -> Any:
    """A value as Spark binds it: aware datetimes as naive UTC (the session's zone), others as they are."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


# -- result types -----------------------------------------------------------------------------------------
def _normal_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        return pa.list_(_normal_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _normal_type(f.type), f.nullable) for f in t])
    if pa.types.is_map(t):
        return pa.map_(_normal_type(t.key_type), _normal_type(t.item_type))
    return t


def normalise(table: pa.Table) -> pa.Table:
    """``table`` with Spark's Arrow types mapped to the ones DuckDB returns for the same query."""
    fields = [pa.field(f.name, _normal_type(f.type), f.nullable) for f in table.schema]
    target = pa.schema(fields)
    return table if target.equals(table.schema) else table.cast(target)


def _for_spark(table: pa.Table) -> pa.Table:
    """An Arrow table in types ``createDataFrame`` accepts (no dictionary, view or unsigned columns)."""
    cols, fields = [], []
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            t = pa.string()
        elif pa.types.is_uint8(t) or pa.types.is_uint16(t):
            t = pa.int32()
        elif pa.types.is_uint32(t) or pa.types.is_uint64(t):
            t = pa.int64()
        elif pa.types.is_timestamp(t):
            t = pa.timestamp("us", tz=t.tz if t.tz is None else "UTC")
        cols.append(col.cast(t) if t != col.type else col)
        fields.append(pa.field(name, t))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


class SparkEngine:
    """The store's tables as Spark temp views; named queries run with ``spark.sql(text, args=...)``."""

    name = "spark"

    def __init__(self, session: Any = None, master: str | None = None,
                 conf: Mapping[str, str] | None = None, app_name: str = "evalaudit") -> None:
        if session is None:
            session = build_session(master=master, conf=conf, app_name=app_name)
        else:
            for key, value in REQUIRED_CONF.items():
                session.conf.set(key, value)
        self.spark = session
        self._views: list[str] = []
        self._nonempty: dict[str, bool] = {}

    # -- views ---------------------------------------------------------------------------------------------
    def view_parquet(self, name: str, files: Sequence[Path | str], empty_schema: pa.Schema) -> None:
        """Define temp view ``name`` over exactly these Parquet files (a snapshot); with none, an empty view
        of ``empty_schema``. Files may be local paths or URLs Spark reads (``s3a://``, ``abfss://``, ...)."""
        if files:
            df = self.spark.read.option("mergeSchema", "true").parquet(*(str(f) for f in files))
            df.createOrReplaceTempView(name)
        else:
            self.register(name, empty_schema.empty_table())
        self._remember(name)
        self._derive(name)

    def register(self, name: str, table: pa.Table | pyarrow.dataset.Dataset) -> None:
        """Offer an earlier stage's Arrow table to later queries (sent to Spark through Arrow; a dataset over a
        stage's file on this machine is read and sent, as the cluster may not see the file)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        if not isinstance(table, pa.Table):  # a dataset over a stage's file
            table = table.to_table()
        arrow = _for_spark(with_ingest_time(name, table))
        spark_schema = from_arrow_schema(arrow.schema)
        if arrow.num_rows == 0:
            df = self.spark.createDataFrame([], schema=spark_schema)
        elif _PYSPARK_MAJOR >= 4:
            df = self.spark.createDataFrame(arrow)
        else:  # pyspark 3.5 takes pandas, converted through Arrow (spark.sql.execution.arrow.pyspark.enabled)
            df = self.spark.createDataFrame(arrow.to_pandas(), schema=spark_schema)
        df.createOrReplaceTempView(name)
        self._remember(name)
        self._derive(name)

    def _derive(self, name: str) -> None:
        """(Re)define the views derived from table ``name`` (:data:`evalaudit.engine.DERIVED_VIEWS`): a Spark temp
        view keeps the plan of the views it was defined over, so it is redefined whenever its table is."""
        if name in DERIVED_VIEWS:
            self.define_view(*DERIVED_VIEWS[name])

    def define_view(self, name: str, query: str) -> None:
        """Define temp view ``name`` as the named query ``query`` (parameterless) over the other views."""
        self.spark.sql(to_spark_markers(named_sql.load(query))[0]).createOrReplaceTempView(name)
        self._remember(name)

    def drop(self, name: str) -> None:
        """Forget a view offered with ``register``."""
        if name in self._views:
            self.spark.catalog.dropTempView(name)
            self._views.remove(name)
        self._nonempty.pop(name, None)

    def _remember(self, name: str) -> None:
        if name not in self._views:
            self._views.append(name)
        self._nonempty.pop(name, None)

    def has_table(self, name: str) -> bool:
        if name not in self._nonempty:
            exists = self.spark.catalog.tableExists(name)
            self._nonempty[name] = bool(exists) and bool(
                self.spark.sql(f"SELECT 1 AS one FROM {quote_ident(name)} LIMIT 1").take(1))
        return self._nonempty[name]

    def columns(self, name: str) -> list[str]:
        if not self.spark.catalog.tableExists(name):
            return []
        return list(self.spark.sql(f"SELECT * FROM {quote_ident(name)} LIMIT 0").columns)

    # -- queries -------------------------------------------------------------------------------------------
    def query(self, name: str, **params: Any) -> pa.Table:
        return self.sql(named_sql.load(name), **params)

    def sql(self, text: str, **params: Any) -> pa.Table:
        spark_text, used = to_spark_markers(text)
        missing = [k for k in used if k not in params]
        if missing:
            raise KeyError(f"query needs parameters {missing}")
        args = {k: _bind_value(params[k]) for k in used}
        df = self.spark.sql(spark_text, args=args or None)
        return normalise(_to_arrow(df))

    def stream(self, name: str, batch_rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        """The named query's rows as record batches, in :meth:`query`'s order. Spark hands a result to the driver
        through Arrow in one piece, so these are slices of it: the bounded working set of a streamed read is the
        embedded engine's; on Spark the cluster's driver memory governs."""
        yield from self.query(name).to_batches(batch_rows)

    def stream_sql(self, text: str, batch_rows: int = 1 << 20, **params: Any) -> Iterator[pa.RecordBatch]:
        """:meth:`sql`'s rows as record batches: slices of the one Arrow result, as in :meth:`stream`."""
        yield from self.sql(text, **params).to_batches(batch_rows)

    def close(self) -> None:
        """Drop this engine's views; the session stays (it may be shared, and starting one takes seconds)."""
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._views.clear()
        self._nonempty.clear()


def _to_arrow(df: Any) -> pa.Table:
    """The result as one Arrow table of the DataFrame's declared schema (all columns nullable, as DuckDB's).

    Not ``DataFrame.toArrow()``: it concatenates the partitions' batches before casting, and batches of
    different partitions can disagree in details of their schema (seen here as an intermittent
    ``ArrowInvalid: Schema at index 1 was different``); each batch is cast to the declared schema first."""
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        declared = to_arrow_schema(df.schema, timezone="UTC")
    except TypeError:  # pyspark 3.5: no timezone argument (timestamps come back in UTC)
        declared = to_arrow_schema(df.schema)
    schema = pa.schema([pa.field(f.name, f.type, nullable=True) for f in declared])
    batches = df._collect_as_arrow()
    if not batches:
        return schema.empty_table()
    return pa.Table.from_batches([_cast_batch(b, schema) for b in batches], schema=schema)


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    arrays = [col.cast(f.type) if col.type != f.type else col
              for col, f in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def build_session(master: str | None = None, conf: Mapping[str, str] | None = None,
                  app_name: str = "evalaudit") -> Any:
    """Create or reuse a Spark session: local mode (``local[*]``) when no master is given, quiet and bound to
    127.0.0.1; ``conf`` (``--spark-conf KEY=VALUE``) overrides the defaults, except the settings the queries
    rely on (`REQUIRED_CONF`)."""
    SparkSession = _import_pyspark()
    settings: dict[str, str] = dict(DEFAULTS)
    local = master is None or master.startswith("local")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings.update(LOCAL_DEFAULTS)
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{_quiet_log4j()}"
    settings.update(conf or {})
    settings.update(REQUIRED_CONF)
    builder = SparkSession.builder.appName(app_name).master(master or "local[*]")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings():  # pyspark warns about pandas versions it has not been tested with
            warnings.simplefilter("ignore", FutureWarning)
            session = builder.getOrCreate()
    except Exception as exc:  # no Java, bad master URL: one sentence, not a JVM trace
        raise SparkUnavailable(f"could not start a Spark session ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); "
                               "Spark needs Java 17 on PATH or JAVA_HOME") from exc
    for key, value in REQUIRED_CONF.items():  # a reused session keeps its settings otherwise
        session.conf.set(key, value)
    session.sparkContext.setLogLevel("ERROR")
    return session


_LOG4J2 = """\
# evalaudit: a local Spark driver logs errors only, to stderr (written by evalaudit.engine_spark).
# org.apache.spark is configured explicitly at the root's level: otherwise Spark's shell logic announces
# "Setting default log level" on the console.
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
logger.netty.name = io.netty
logger.netty.level = error
"""


def _quiet_log4j() -> Path:
    """A log4j2 configuration that keeps a local driver quiet (Spark's default prints INFO/WARN banners to the
    console); written once per user into the temp directory."""
    path = Path(tempfile.gettempdir()) / f"evalaudit-spark-log4j2-{os.getuid()}.properties"
    if not path.exists() or path.read_text(encoding="utf-8") != _LOG4J2:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_LOG4J2, encoding="utf-8")
        os.replace(tmp, path)
    return path


def parse_conf(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (repeatable ``--spark-conf``) as a dict; a pair without ``=`` is an error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UnusableInput(f"a Spark setting is written KEY=VALUE, not {pair!r}", options=("spark_conf",))
        out[key.strip()] = value
    return out


#: Spark setting naming the URL executors read the store from (``s3a://bucket/store``) when the driver sees it
#: at a local path (a FUSE mount such as mountpoint-s3, gcsfuse or blobfuse2): the driver lists the snapshot
#: there, the executors read each file from the same relative path under this URL.
STORE_URL_CONF = "spark.evalaudit.storeUrl"


def file_urls(root: Path, files: Sequence[Path], store_url: str | None) -> list[str]:
    """The paths Spark reads for ``files`` under store ``root``: as they are, or rebased onto the URL."""
    if not store_url:
        return [str(f) for f in files]
    base = store_url.rstrip("/")
    return [f"{base}/{Path(f).relative_to(root).as_posix()}" for f in files]


def store_engine(store: Any, master: str | None = None, conf: Mapping[str, str] | None = None,
                 session: Any = None) -> SparkEngine:
    """A Spark engine with one view per canonical table over a snapshot of the store's committed files — the
    Spark counterpart of `Store.engine()`. With `STORE_URL_CONF` set, executors read the files from there."""
    from evalaudit import schema

    eng = SparkEngine(session=session, master=master, conf=conf)
    store_url = (conf or {}).get(STORE_URL_CONF) or eng.spark.conf.get(STORE_URL_CONF, None)
    root = Path(store.root).resolve()

    def paths(files: Sequence[Path]) -> list[Any]:
        return list(file_urls(root, [Path(f).resolve() for f in files], store_url))

    for name, table in schema.TABLES.items():
        eng.view_parquet(name, paths(store.files(name)), table.arrow_schema)
    eng.view_parquet("quarantine", paths(store.quarantine_files()), schema.QUARANTINE)
    return eng
