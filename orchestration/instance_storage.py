"""The project's Dagster instance: Dagster's SQLite storage, whose event log keeps one SQLAlchemy engine per shard
instead of making one per statement.

Dagster's `SqliteEventLogStorage` creates an engine for every connection it opens, and opens several for each event it
stores (the run's shard, then the index shard for an asset or check event). A new engine starts with an empty
compiled-statement cache, so every insert and lookup is compiled again: on a small world's day (about 330 dbt events,
each a materialization or a check result) that was about 8 s of the pipeline process's 44 s of CPU. Keeping the engine
lets SQLAlchemy reuse what it compiled. The engines keep `NullPool`, as Dagster's do: each use still opens and closes
its own SQLite connection, so nothing is held open between statements, across a fork, or against another process.

`orchestration/dagster.yaml` names `OmnichannelInstance` as the `instance_class`: its storage defaults are Dagster's
own (the same files under the instance's folder, so an instance made before reads on, and the stock storage can read
what this one wrote), computed from wherever the instance is opened, so a copied or moved `DAGSTER_HOME` keeps no path
to the old one. A `storage:` block in a `dagster.yaml` still wins, as with any Dagster instance.

This overrides a private method of dagster 1.13's `SqliteEventLogStorage` (its `_connect`, with the `_db_lock`,
`_initialized_dbs` and `_initdb` it uses); `tests/test_instance_storage.py` pins that it still stores and reads back
runs, asset events and check results the way the stock storage does, and that it keeps its engines.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# A process reading many runs (the UI's run list) touches one shard per run: keep the engines of the most recent.
MAX_CACHED_ENGINES = 64


class CachedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` (same files, same schema) that reuses one engine per shard."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "CachedEngineSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._engines[shard] = engine
                if len(self._engines) > MAX_CACHED_ENGINES:
                    _, oldest = self._engines.popitem(last=False)
                    oldest.dispose()
            else:
                self._engines.move_to_end(shard)
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()


class EngineKeepingSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event log, schedules under one folder) with the engine-keeping event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage.dispose()  # the stock one, replaced before anything used it
        self._event_log_storage = CachedEngineSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "EngineKeepingSqliteStorage":
        return cls(inst_data=inst_data, **config_value)


class OmnichannelInstance(dg.DagsterInstance):
    """A Dagster instance whose default storage is `EngineKeepingSqliteStorage` in the instance's own folder."""

    @classmethod
    def config_schema(cls) -> Mapping:
        return {}

    @classmethod
    def config_defaults(cls, base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        return {
            **InstanceRef.config_defaults(base_dir),
            "storage": ConfigurableClassData(
                __name__, EngineKeepingSqliteStorage.__name__, yaml.dump({"base_dir": base_dir})
            ),
        }
