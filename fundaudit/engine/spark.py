"""The Spark backend: the engine's tables as temporary views of a SparkSession, each rule's query
transpiled by sqlglot to Spark SQL, results collected through Arrow and converted to pandas the way
DuckDB converts its own, so :func:`fundaudit.engine.run_rules` builds the same findings on either.

The only engine module that imports pyspark (``pip install fundaudit[spark]``). Frames built on the driver
(spreadsheets, CSVs) are sent to Spark through Arrow; ledgers Spark read and normalised itself
(:mod:`fundaudit.spark_inputs`) are adopted as views of their cached rows, never copied.
Temporary views are named ``fundaudit_<token>_<table>``, so a user's own views of the same names are
never replaced, and dropped on :meth:`SparkBackend.close`."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import uuid
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot.expressions as exp

from fundaudit.engine.backend import Backend, EngineUnsupported
from fundaudit.engine.sql import to_sql
from fundaudit.ledger import StoredTable
from fundaudit.spark_inputs import quiet as _quiet

__all__ = ["SparkBackend", "local_session", "unavailable"]

# Spark's analysis errors that mean "this SQL cannot run here" (a function or construct it lacks), not a
# crash: the rule is skipped with the reason. Any other error is the rule's ``status: error``, as on DuckDB.
_UNSUPPORTED = ("UNRESOLVED_ROUTINE", "UNSUPPORTED_", "PARSE_SYNTAX_ERROR", "DATATYPE_MISMATCH",
                "WRONG_NUM_ARGS", "INVALID_SQL_SYNTAX")


def unavailable() -> str | None:
    """Why Spark cannot run here, as the code of its catalogue message (None: it can): ``spark_no_pyspark`` or
    ``spark_no_java``. Checked before any input is read, so a run that cannot start Spark fails at once."""
    if importlib.util.find_spec("pyspark") is None:
        return "spark_no_pyspark"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "spark_no_java"
    return None


def local_session(master: str = "local[2]", **conf: str) -> Any:
    """A SparkSession for running fundaudit locally (``master``: ``local[N]``, ``local-cluster[W,C,M]``, a
    ``spark://`` URL): UTC session time zone, no web UI, few shuffle partitions, Arrow on; ``conf`` adds
    or overrides settings. Executors' Python is this interpreter."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName("fundaudit")
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **conf,
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    with _quiet():
        return builder.getOrCreate()


class SparkBackend(Backend):
    """Runs the engine's queries on ``spark`` (a SparkSession; None: a :func:`local_session`, stopped on
    :meth:`close`)."""

    name = "spark"
    dialect = "spark"

    def __init__(self, spark: Any = None) -> None:
        self.owned = spark is None
        self.spark = local_session() if spark is None else spark
        self.prefix = f"fundaudit_{uuid.uuid4().hex[:12]}_"
        self.views: dict[str, str] = {}  # table name -> temporary view name
        self.time_zone = str(self.spark.conf.get("spark.sql.session.timeZone"))
        import duckdb  # converts the collected Arrow results exactly as DuckDB's own .df() does

        self.convert = duckdb.connect(config={"enable_external_access": False, "threads": 1})

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Send ``frame`` to Spark through Arrow as a temporary view for the table ``name``."""
        table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
        table = table.replace_schema_metadata(None)
        view = self.prefix + name
        with _quiet():
            self.spark.createDataFrame(table).createOrReplaceTempView(view)
        self.views[name] = view

    def adopt(self, name: str, stored: StoredTable) -> None:
        """Make a ledger stored on this session (``fundaudit.spark_inputs``: its rows normalised and cached on
        Spark) queryable as ``name``: a second view of the same cached rows, no copy."""
        if stored.engine != "spark":
            raise ValueError(f"Spark cannot query a table stored on {stored.engine}")
        view = self.prefix + name
        self.spark.table(stored.name).createOrReplaceTempView(view)
        self.views[name] = view

    def unregister(self, name: str) -> None:
        """Drop the view of ``name``."""
        view = self.views.pop(name, None)
        if view is not None:
            self.spark.catalog.dropTempView(view)

    def _runnable(self, query: exp.Expression) -> str:
        """Spark SQL of ``query``, its registered tables named by their views."""

        def rename(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and not node.args.get("db") and node.name in self.views:
                out = node.copy()
                out.set("this", exp.to_identifier(self.views[node.name], quoted=True))
                return out
            return node

        return to_sql(query.transform(rename), self.dialect)

    def execute(self, query: exp.Expression) -> pd.DataFrame:
        """Run ``query`` on Spark; its rows, collected through Arrow, as DuckDB would give them."""
        text = self._runnable(query)
        try:
            with _quiet():
                table = self.spark.sql(text).toArrow()
        except Exception as exc:
            condition = _condition(exc)
            if condition is not None and condition.startswith(_UNSUPPORTED):
                raise EngineUnsupported("Spark", f"{condition}: {_first_line(exc)}") from exc
            raise
        return self.convert.from_arrow(self._as_duckdb(table)).df()

    def _as_duckdb(self, table: pa.Table) -> pa.Table:
        """``table`` with the Arrow types DuckDB results have: integers as int64, timestamps as naive wall-clock
        times of the session's time zone (as the registered frames were), plain strings."""
        columns = [_as_duckdb_column(c, self.time_zone) for c in table.columns]
        return pa.Table.from_arrays(columns, names=table.column_names)

    def close(self) -> None:
        """Drop the views; stop the session if this backend started it."""
        for name in list(self.views):
            self.unregister(name)
        self.convert.close()
        if self.owned:
            self.spark.stop()


def _condition(exc: BaseException) -> str | None:
    """Spark's error condition of ``exc`` (``UNRESOLVED_ROUTINE``…), None when it is no Spark error."""
    get = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    try:
        return str(get()) if get is not None and get() else None
    except Exception:  # an error object without a condition
        return None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _as_duckdb_column(column: pa.ChunkedArray, time_zone: str) -> pa.ChunkedArray:
    t = column.type
    if pa.types.is_integer(t):
        return column.cast(pa.int64())
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pc.local_timestamp(column.cast(pa.timestamp(t.unit, time_zone)))
    if pa.types.is_large_string(t):
        return column.cast(pa.string())
    if pa.types.is_list(t) and pa.types.is_integer(t.value_type):
        return column.cast(pa.list_(pa.int64()))
    return column
