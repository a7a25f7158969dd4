"""The Cassandra session and schema of the distributed backend (``connect``, ``migrate``) and
the base of every adapter (prepared statements per session). The adapters:
``infra/cassandra_store.py`` (the event log) and ``infra/cassandra_readmodels.py``."""

from __future__ import annotations

import functools
from collections import namedtuple
from pathlib import Path
from typing import Any

from tongxiu.services.config import Settings

SCHEMA_FILE = Path(__file__).resolve().parent / "cassandra" / "schema.cql"


def _consistency(name: str) -> int:
    from cassandra import ConsistencyLevel

    return int(ConsistencyLevel.name_to_value[name.upper()])


def connect(settings: Settings, *, keyspace: str | None = None) -> Any:
    """A driver ``Session`` for ``settings`` (libev reactor when available, the protocol
    version, default consistency and serial consistency from settings, token-aware routing,
    password auth when a username is set). ``keyspace`` (default: none) is set on the session
    if given."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, TokenAwarePolicy

    kwargs: dict[str, Any] = {}
    try:
        from cassandra.io.libevreactor import LibevConnection

        kwargs["connection_class"] = LibevConnection
    except ImportError:  # pragma: no cover - wheels bundle libev
        pass
    if settings.cassandra_username:
        from cassandra.auth import PlainTextAuthProvider

        kwargs["auth_provider"] = PlainTextAuthProvider(
            username=settings.cassandra_username, password=settings.cassandra_password or ""
        )
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        row_factory=named_tuple_rows,
        consistency_level=_consistency(settings.consistency),
        serial_consistency_level=_consistency(settings.serial_consistency),
        request_timeout=30,
    )
    cluster = Cluster(
        settings.cassandra_contact_points,
        port=settings.cassandra_port,
        protocol_version=settings.cassandra_protocol_version,  # see Settings: v4 costs less CPU here
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=30,
        # a node that comes back is used again within ~2 s (the driver's default waits up to
        # 10 min between attempts after a long outage)
        reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.5, max_delay=2.0),
        **kwargs,
    )
    session = cluster.connect(keyspace) if keyspace else cluster.connect()
    if settings.cql_counts_file is not None:
        StatementCounter.install(session, Path(settings.cql_counts_file))
    return session


@functools.lru_cache(maxsize=1024)
def _row_class(colnames: tuple[str, ...]) -> Any:
    from cassandra.query import _clean_column_name

    return namedtuple("Row", [_clean_column_name(c) for c in colnames])


def named_tuple_rows(colnames: Any, rows: Any) -> list[Any]:
    """The driver's default row factory (rows as named tuples), with the tuple class built
    once per column list: the driver's own builds a new ``namedtuple`` class for every
    response, which was 7 % of the worker's CPU (issue 11, py-spy)."""
    try:
        row = _row_class(tuple(colnames))
    except Exception:  # noqa: BLE001 - names namedtuple refuses: the driver's fallback
        from cassandra.query import named_tuple_factory

        return list(named_tuple_factory(colnames, rows))
    return [row(*r) for r in rows]


def was_applied(result: Any) -> bool:
    """Whether a conditional statement (LWT) was applied: the ``[applied]`` column, the first
    of its one row (the driver's ``ResultSet.was_applied`` accepts only its own row factories)."""
    row = result.one()
    return bool(row[0]) if row is not None else False


class StatementCounter:
    """Counts what a session sends (benchmarks: statements and LWTs per submission): every
    request (a batch is one), the conditional ones (``IF``: a Paxos write) and the SERIAL
    reads (a Paxos read), by the role of the sending thread (``ledger``/``projection`` by the
    worker's thread names; ``other``: the driver's own threads, e.g. statements
    ``execute_concurrent`` sends from its callbacks). With a ``path``, the counts are written
    there as JSON every 0.5 s."""

    def __init__(self) -> None:
        import threading
        from collections import Counter

        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def note(self, query: Any) -> None:
        import threading

        from cassandra import ConsistencyLevel
        from cassandra.query import BatchStatement, BoundStatement

        kind = "statements"
        text = ""
        if isinstance(query, BoundStatement):
            text = query.prepared_statement.query_string
            serial = query.prepared_statement.consistency_level in (ConsistencyLevel.SERIAL,
                                                                    ConsistencyLevel.LOCAL_SERIAL)
        else:
            text = query if isinstance(query, str) else str(getattr(query, "query_string", "") or "")
            serial = getattr(query, "consistency_level", None) in (ConsistencyLevel.SERIAL,
                                                                  ConsistencyLevel.LOCAL_SERIAL)
        name = threading.current_thread().name
        role = "ledger" if "ledger" in name else "projection" if "projection" in name else "other"
        with self._lock:
            self.counts[f"{role}.{kind}"] += 1
            if isinstance(query, BatchStatement):
                self.counts[f"{role}.batches"] += 1
            elif " IF " in f" {text.upper()} ":
                self.counts[f"{role}.lwt"] += 1
            elif serial:
                self.counts[f"{role}.serial_reads"] += 1

    @classmethod
    def install(cls, session: Any, path: Path | None = None) -> StatementCounter:
        import json
        import threading

        counter = cls()
        execute, execute_async = session.execute, session.execute_async
        inside = threading.local()  # the driver's execute() may call execute_async(): count once

        def counted(query: Any, *a: Any, **k: Any) -> Any:
            counter.note(query)
            inside.on = True
            try:
                return execute(query, *a, **k)
            finally:
                inside.on = False

        def counted_async(query: Any, *a: Any, **k: Any) -> Any:
            if not getattr(inside, "on", False):
                counter.note(query)
            return execute_async(query, *a, **k)

        session.execute, session.execute_async = counted, counted_async
        session.tongxiu_counter = counter
        if path is not None:
            def dump() -> None:
                while True:
                    with counter._lock:
                        text = json.dumps(dict(counter.counts))
                    tmp = path.with_suffix(".tmp")
                    tmp.write_text(text)
                    tmp.replace(path)
                    threading.Event().wait(0.5)

            threading.Thread(target=dump, name="cql-counts", daemon=True).start()
        return counter


def _cql_map(value: dict[str, Any]) -> str:
    parts = []
    for k, v in value.items():
        val = str(v) if isinstance(v, int | float) and not isinstance(v, bool) else "'" + str(v).replace("'", "''") + "'"
        parts.append("'" + str(k).replace("'", "''") + "': " + val)
    return "{" + ", ".join(parts) + "}"


def schema_statements(settings: Settings) -> list[str]:
    keyspace = settings.keyspace
    if not keyspace.replace("_", "").isalnum():
        raise ValueError(f"invalid keyspace name {keyspace!r}")
    text = "\n".join(
        line for line in SCHEMA_FILE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("--")
    )
    text = text.replace("{keyspace}", keyspace).replace("{replication}", _cql_map(settings.cassandra_replication))
    return [s.strip() for s in text.split(";") if s.strip()]


def migrate(session: Any, settings: Settings) -> None:
    """Create the keyspace and every table if missing (idempotent), then wait for schema
    agreement."""
    for statement in schema_statements(settings):
        session.execute(statement, timeout=120)
    session.cluster.control_connection.wait_for_schema_agreement()
    _add_columns(session, settings.keyspace, "stream_heads", {
        "pending": "list<text>", "pending_writer": "uuid", "pending_events": "frozen<list<text>>"})


def _add_columns(session: Any, keyspace: str, table: str, columns: dict[str, str]) -> None:
    """Columns added to a table after keyspaces were created with it (idempotent)."""
    from cassandra import InvalidRequest

    have = {r.column_name for r in session.execute(
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s",
        (keyspace, table))}
    for name, kind in columns.items():
        if name in have:
            continue
        try:
            session.execute(f"ALTER TABLE {keyspace}.{table} ADD {name} {kind}", timeout=120)
        except InvalidRequest as exc:  # added meanwhile by another migrate
            if "exist" not in str(exc).lower() and "conflict" not in str(exc).lower():
                raise
    session.cluster.control_connection.wait_for_schema_agreement()


class _Base:
    def __init__(self, session: Any, keyspace: str) -> None:
        self.session = session
        self.ks = keyspace
        self._prepared: dict[str, Any] = {}

    def _p(self, cql: str) -> Any:
        stmt = self._prepared.get(cql)
        if stmt is None:
            stmt = self.session.prepare(cql.replace("{ks}", self.ks))
            self._prepared[cql] = stmt
        return stmt

    def _serial(self, cql: str) -> Any:
        """A prepared SELECT read at the serial consistency (sees every committed LWT)."""
        from cassandra import ConsistencyLevel

        key = "serial:" + cql
        stmt = self._prepared.get(key)
        if stmt is None:
            stmt = self.session.prepare(cql.replace("{ks}", self.ks))
            stmt.consistency_level = ConsistencyLevel.SERIAL
            self._prepared[key] = stmt
        return stmt
