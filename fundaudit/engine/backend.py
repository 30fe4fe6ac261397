"""Where a rule's query runs: a small backend object the engine registers its tables on and runs each
rule's sqlglot query through. DuckDB (in process, the default) is here; Spark is
:mod:`fundaudit.engine.spark` (imported only when asked for, so pyspark stays optional).

A backend's results are pandas frames with the dtypes DuckDB's ``.df()`` gives, so the findings built
from them do not depend on where the query ran."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlglot.expressions as exp

from fundaudit.engine.sql import to_sql
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
        """Make an already stored table queryable as ``name``, no copy (``unregister`` forgets the name, never
        the stored rows)."""

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

    def __init__(self) -> None:
        import duckdb

        self.con = duckdb.connect(config={"enable_external_access": False, "threads": 2})

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Register ``frame`` (as an Arrow table) under ``name``."""
        self.con.register(name, pa.Table.from_pandas(frame, preserve_index=False))

    def adopt(self, name: str, stored: StoredTable) -> None:
        """Not yet: a table stored elsewhere (Spark) cannot be queried here."""
        raise NotImplementedError(f"DuckDB cannot query a table stored on {stored.engine}")

    def unregister(self, name: str) -> None:
        """Drop ``name``."""
        self.con.unregister(name)

    def execute(self, query: exp.Expression) -> pd.DataFrame:
        """Run ``query``; its rows as DuckDB's pandas frame."""
        return self.con.execute(self.sql(query)).df()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()


def open_backend(engine: str, spark: Any = None) -> Backend:
    """The backend named ``engine`` (``duckdb`` or ``spark``; Spark runs on the given session, or a local
    one it starts)."""
    if engine == "duckdb":
        return DuckDBBackend()
    if engine == "spark":
        from fundaudit.engine.spark import SparkBackend

        return SparkBackend(spark)
    raise ValueError(f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
