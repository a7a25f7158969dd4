"""Property-based tests of the whole API against its own OpenAPI document (schemathesis):
whatever a client sends, the service answers with a documented status and body and never a
5xx — a server error from any malformed request is a bug.

Schemathesis' pytest plugin does not run under pytest 9, so the operations are driven
directly: one Hypothesis run per operation and generation mode, failures collected."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import ENTERPRISE
from tongxiu.services.http import create_app

AUDITOR = "auditor-token-0000000000"
SAMR = "dept-token-samr-deqing-0000"
PLATFORM = "platform-token-000000000"
TOKENS = {
    AUDITOR: {"role": "auditor"},
    SAMR: {"role": "department", "department": "samr-deqing"},
    PLATFORM: {"role": "credit_platform", "department": "creditchina"},
}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _token(path: str) -> str:
    return SAMR if path == "/submissions" else PLATFORM if path.startswith("/feed") else AUDITOR


MODES = [(GenerationMode.POSITIVE, True, 8), (GenerationMode.POSITIVE, False, 2), (GenerationMode.NEGATIVE, True, 6)]
"""(mode, use the demo's enterprise and department in paths, examples per operation)"""


def test_api_never_fails_on_any_input(demo_app: Tongxiu) -> None:
    # the bearer scheme is declared, so negative cases also omit or spoil the token: not rate-limited here
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(demo_app, TOKENS, max_failed_auth=10**9))
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for (mode, real_ids, examples), operation in ((m, o) for m in MODES for o in operations):
        ids: dict[str, Any] = {}
        if real_ids:
            ids = {k: v for k, v in {"code": ENTERPRISE, "dept": "samr-deqing"}.items() if "{" + k + "}" in operation.path}
        strategy = operation.as_strategy(mode, path_parameters=ids or None)

        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {_token(case.path)}"}, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # nothing in this operation can be made invalid (negative mode)
            continue
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
