"""``tongxiu serve`` runs uvicorn with its default ``http="auto"``, which takes httptools when it
is installed (the ``server`` extra installs it: ~8 % less server CPU per submission than the
pure-Python h11, docs/benchmarks.md, issue 11 session 15)."""

from __future__ import annotations

from typing import Any

import uvicorn


async def _app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    raise AssertionError


def test_the_server_parses_http_with_httptools() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn.Config(_app, log_config=None)  # what `tongxiu serve` passes: no `http=`
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
