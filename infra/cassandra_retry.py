"""A bounded retry for the Cassandra adapters' reads, for a session that outlived a node.

After a Cassandra node restarts, a client's existing session can fail its first request on
a connection that died with the node (``NoHostAvailable`` listing a ``ConnectionShutdown`` /
defunct connection, or ``OperationTimedOut``) while the driver is still re-opening its pool
(the reconnection policy in ``cassandra_store.connect`` retries every 0.5-2 s). A read is
idempotent, so the read methods of the adapters are wrapped by :func:`retry_read`: up to
:data:`READ_ATTEMPTS` attempts with :data:`READ_DELAYS` between them (about 6 s in all),
then the error goes to the caller as before. Writes are not retried here: an append's LWTs
decide from what they read, and the worker's supervisor already retries whole operations.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)

READ_DELAYS = (0.25, 0.5, 1.0, 2.0, 2.0)
READ_ATTEMPTS = len(READ_DELAYS) + 1
retried = 0
"""Reads of this process that failed once and were tried again (a figure for the fault tests)."""

F = TypeVar("F", bound=Callable[..., Any])


def transient_errors() -> tuple[type[BaseException], ...]:
    """What a read may meet while a node or the driver's pool to it is coming back."""
    from cassandra import OperationTimedOut
    from cassandra.cluster import NoHostAvailable
    from cassandra.connection import ConnectionException

    return (NoHostAvailable, OperationTimedOut, ConnectionException)


def retry_read(fn: F) -> F:
    """Run the read ``fn`` again on a transient connection error (bounded; see the module)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        errors = transient_errors()
        for attempt, delay in enumerate(READ_DELAYS, start=1):
            try:
                return fn(*args, **kwargs)
            except errors as exc:
                global retried
                retried += 1
                if attempt == 1:  # once per failed read, not once per attempt
                    log.warning("Cassandra read %s failed (%s: %s); retrying up to %d times",
                                fn.__qualname__, type(exc).__name__, exc, len(READ_DELAYS))
                time.sleep(delay)
        return fn(*args, **kwargs)

    return cast(F, wrapper)
