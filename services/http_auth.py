"""Who may call the web service: tokens, their grants, and the ONE role dependency every
route uses (:func:`role`), built on FastAPI's ``HTTPBearer`` through ``Security`` so the
bearer scheme is declared in the OpenAPI document (Swagger's Authorize button, generated
clients send the header).

The token comes from ``Authorization: Bearer <token>`` or, for the pages, from the
``tongxiu_token`` cookie set by the login form (``POST /login``); never from the URL.

Roles:

* ``auditor``: reads everything (API, pages, feed, rejections, the access log); cannot publish.
* ``department``: publishes as its own department only; reads its own decisions and inbox.
* ``credit_platform``: the repair feed only (no personal data).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tongxiu.services.app import Tongxiu

COOKIE = "tongxiu_token"
RoleName = Literal["auditor", "department", "credit_platform"]
ROLE_WORDS = {"auditor": "auditor", "department": "a department token", "credit_platform": "credit_platform"}
ROLE_WORDS_ZH = {"auditor": "审计员", "department": "部门令牌", "credit_platform": "信用平台"}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="令牌 (token): `Authorization: Bearer <token>`; roles auditor, department, credit_platform",
)


class Grant(BaseModel):
    """What a token allows."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    role: RoleName
    department: str | None = Field(default=None, min_length=1, max_length=64)
    name: str = ""

    @model_validator(mode="after")
    def _department_needed(self) -> Grant:
        if self.role == "department" and not self.department:
            raise ValueError("a department token needs 'department'")
        return self


def parse_tokens(data: dict[str, Any]) -> dict[str, Grant]:
    """``{token: {role, department}}``, at the top level or under a ``tokens`` key."""
    table = data.get("tokens", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ValueError("tokens: expected a table mapping token -> {role, department}")
    out: dict[str, Grant] = {}
    for token, grant in table.items():
        if not isinstance(token, str) or len(token) < 16:
            raise ValueError(f"tokens: token {str(token)[:4]}… is shorter than 16 characters")
        try:
            out[token] = grant if isinstance(grant, Grant) else Grant.model_validate(grant)
        except ValidationError as exc:
            raise ValueError(f"tokens: token {token[:4]}…: {exc.errors(include_url=False)[0]['msg']}") from exc
    return out


def load_tokens(path: Path | str) -> dict[str, Grant]:
    """Read a tokens file: TOML (``.toml``) or JSON. A file that its group or others may read
    is refused (the tokens are passwords): ``chmod 600`` it."""
    path = Path(path)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ValueError(
                f"令牌文件 {path} 的权限为 {mode:o}，同组或其他用户可读；令牌等同口令，请执行 chmod 600 {path} "
                f"(the tokens file is readable by group/others: chmod 600 it)"
            )
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    return parse_tokens(data)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Access:
    """The grants by token digest (the tokens themselves are not kept), on ``app.state.access``."""

    def __init__(self, tokens: dict[str, Any]) -> None:
        self.grants = {digest(t): g for t, g in parse_tokens(dict(tokens)).items()}

    def grant(self, token: str | None) -> Grant | None:
        return self.grants.get(digest(token)) if token else None

    def known(self, token: str) -> bool:
        return digest(token) in self.grants


async def tongxiu(request: Request) -> Tongxiu:
    """The application the service runs over (``app.state.tongxiu``). The dependencies here
    are ``async def`` (they neither block nor wait): FastAPI runs a plain ``def`` dependency in
    the thread pool, one thread hand-off and back per dependency and request."""
    app: Tongxiu = request.app.state.tongxiu
    return app


App = Annotated[Tongxiu, Depends(tongxiu)]


async def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Grant:
    """The grant of the token sent (bearer header, else the pages' cookie); 401 without one."""
    header = request.headers.get("authorization", "")
    if header and credentials is None:
        raise HTTPException(401, "the Authorization header must be 'Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    token = credentials.credentials if credentials is not None else request.cookies.get(COOKIE)
    if not token:
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    access: Access = request.app.state.access
    grant = access.grant(token)
    if grant is None:
        raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    request.state.token_digest = digest(token)
    request.state.grant = grant
    return grant


def forbidden(grant: Grant, allowed_zh: str, allowed_en: str) -> HTTPException:
    who = f"{grant.role}{' (' + grant.department + ')' if grant.department else ''}"
    return HTTPException(403, f"角色 {who} 无权执行此操作，需要{allowed_zh} "
                              f"(role {who} may not do this: needs {allowed_en})")


@functools.cache
def role(*roles: RoleName, own_department: str | None = None) -> Callable[..., Awaitable[Grant]]:
    """THE role dependency: the caller's grant when its role is one of ``roles`` (any role
    when none is given), or — with ``own_department`` naming a path parameter — a department
    token of that very department; 403 otherwise. Cached, so a route's dependency is the
    same callable every time it is named (FastAPI resolves it once per request)."""

    async def check(request: Request, grant: Annotated[Grant, Security(caller)]) -> Grant:
        if not roles or grant.role in roles:
            return grant
        dept = request.path_params.get(own_department) if own_department else None
        if dept is not None and grant.role == "department" and grant.department == dept:
            return grant
        zh = "或".join(ROLE_WORDS_ZH[r] for r in roles) + (f"或部门 {dept} 本身" if dept else "")
        en = " or ".join(ROLE_WORDS[r] for r in roles) + (f" or department {dept}" if dept else "")
        raise forbidden(grant, zh, en)

    check.__name__ = "role_" + ("_".join(roles) or "any") + (f"_or_own_{own_department}" if own_department else "")
    return check


Caller = Annotated[Grant, Security(role())]
Auditor = Annotated[Grant, Security(role("auditor"))]
