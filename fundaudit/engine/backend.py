"""Where a rule's query runs: a small backend object the engine registers its tables on and runs each
rule's sqlglot query through. DuckDB (in process, the default) is here; Spark is
:mod:`fundaudit.engine.spark` (imported only when asked for, so pyspark stays optional).

A backend's results are pandas frames with the dtypes DuckDB's ``.df()`` gives, so the findings built
from them do not depend on where the query ran."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import sqlglot.expressions as exp

from fundaudit.engine.sql import to_sql
from fundaudit.ledger import StoredTable

if TYPE_CHECKING:
    from fundaudit.ledger import StoredTable

__all__ = ["ENGINES", "Backend", "DuckDBBackend", "EngineUnsupported", "open_backend"]

ENGINES = ("duckdb", "spark")


class EngineUnsupported(Exception):  # noqa: N818 - a control signal the engine turns into a skip
    """The backend cannot run a query (a function or construct its SQL lacks); the rule is skipped with
    the backend's reason, never run to a different answer."""

    def __init__(self, engine: str, detail: str) -> None:
        self.engine = engine
        self.detail = detail
        super().__init__(f"{engine}: {detail}")


class Backend(ABC):
    """Registers tables and runs queries; ``dialect`` is the sqlglot dialect its SQL is written in."""

    name: str
    dialect: str

    def sql(self, query: exp.Expression) -> str:
        """The SQL text of ``query`` in this backend's dialect (what a rule reports as its ``sql``)."""
        return to_sql(query, self.dialect)

    @abstractmethod
    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make ``frame`` queryable as the table ``name``."""

    @abstractmethod
    def adopt(self, name: str, stored: StoredTable) -> None:
        """Make a ledger's stored table (:class:`fundaudit.ledger.StoredTable`) queryable as ``name``, where it
        already is: never by copying its rows through the driver (``unregister`` forgets the name, never the stored
        rows). Raises ``ValueError`` when it is held where this backend cannot reach it."""

    @abstractmethod
    def unregister(self, name: str) -> None:
        """Drop the table ``name``."""

    @abstractmethod
    def execute(self, query: exp.Expression) -> pd.DataFrame:
        """The rows of ``query`` as a pandas frame (DuckDB's ``.df()`` dtypes); raises
        :class:`EngineUnsupported` when the backend cannot run it."""

    @abstractmethod
    def close(self) -> None:
        """Release what the backend holds (not a Spark session it was given)."""


class DuckDBBackend(Backend):
    """A fresh in-process DuckDB connection: registered frames are zero-copy through Arrow, external
    access (files, URLs) is off."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, connection: Any = None) -> None:
        """A fresh in-memory connection, or ``connection`` (an out-of-core store's, :mod:`fundaudit.scan`): the
        rules then run where the stored tables are, and closing unregisters what was registered, leaving the
        connection open for its owner."""
        import duckdb

        self.borrowed = connection is not None
        self.con = connection if connection is not None else duckdb.connect(
            config={"enable_external_access": False, "threads": 2})
        self.registered: set[str] = set()

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Register ``frame`` (as an Arrow table) under ``name``."""
        self.con.register(name, pa.Table.from_pandas(frame, preserve_index=False))
        self.registered.add(name)

    def adopt(self, name: str, stored: StoredTable) -> None:
        """A stored table of this very connection, under its own name ``name``."""
        if stored.engine != "duckdb" or getattr(stored, "connection", None) is not self.con or stored.name != name:
            raise ValueError(f"the stored table {stored.name!r} is not held by this DuckDB connection as {name!r}")

    def unregister(self, name: str) -> None:
        """Drop ``name``."""
        self.con.unregister(name)
        self.registered.discard(name)

    def execute(self, query: exp.Expression) -> pd.DataFrame:
        """Run ``query``; its rows as DuckDB's pandas frame."""
        return self.con.execute(self.sql(query)).df()

    def close(self) -> None:
        """Close the connection (a borrowed one: unregister what was registered on it)."""
        if not self.borrowed:
            self.con.close()
            return
        for name in sorted(self.registered):
            self.con.unregister(name)
        self.registered.clear()


def open_backend(engine: str, spark: Any = None, *, connection: Any = None) -> Backend:
    """The backend named ``engine`` (``duckdb`` or ``spark``; Spark runs on the given session, or a local
    one it starts); DuckDB over ``connection`` when given (an out-of-core store's)."""
    if engine == "duckdb":
        return DuckDBBackend(connection)
    if engine == "spark":
        from fundaudit.engine.spark import SparkBackend

        return SparkBackend(spark)
    raise ValueError(f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
