"""What keeps customer information safe in `zhike serve`: headers, size limits, CSRF, the token, the log.

- Every response carries a Content-Security-Policy without inline scripts (pages load
  only /static/ files from this server), X-Content-Type-Options, Referrer-Policy
  no-referrer and frame-ancestors 'none'. The print-friendly report download, a
  self-contained page with its own <style>, may use inline styles and nothing else.
- Request bodies are bounded before they are read: a Content-Length over the limit
  is refused at once, a body without one is counted as it streams (413, in the
  user's language). The batch upload has its own, larger, limit.
- CSRF: a random token per browser in a signed cookie, repeated in a hidden field
  of every form; a form POST whose field does not match is refused (403).
- With a token file: the API needs `Authorization: Bearer <token>`, pages need the
  signed login cookie (HttpOnly, SameSite=Strict) set by /login; tokens are
  compared with hmac.compare_digest.
- The log: one line per request — method, the route's path template (never an
  interview id or a query), status, milliseconds. Never a customer's words.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

FORM_LIMIT = 1024 * 1024  # forms and JSON
UPLOAD_LIMIT = 50 * 1024 * 1024  # a prospect list on the batch page
UPLOAD_PATHS = ("/batch",)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
       "form-action 'self'; base-uri 'none'")
# the print-friendly report: self-contained (inline <style>), no script at all
CSP_REPORT = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
CSRF_COOKIE = "zhike_csrf"
CSRF_FIELD = "csrf"
AUTH_COOKIE = "zhike_auth"
LOGIN_MAX_AGE = 30 * 24 * 3600

log = logging.getLogger("zhike.web")

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


def secret_key(data_dir: Path) -> bytes:
    """The key that signs cookies: kept in the data folder (0600) so logins survive a restart."""
    path = Path(data_dir) / "secret.key"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        fh.write(key)
    tmp.replace(path)
    return key


class Signer:
    """Signed cookie values (itsdangerous)."""

    def __init__(self, key: bytes) -> None:
        self._s = URLSafeTimedSerializer(key, salt="zhike-web")

    def sign(self, value: str) -> str:
        return self._s.dumps(value)

    def unsign(self, signed: str | None, max_age: int | None = None) -> str | None:
        if not signed:
            return None
        try:
            value = self._s.loads(signed, max_age=max_age)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


# -- CSRF -------------------------------------------------------------------------------------

def csrf_token(signer: Signer, cookie: str | None) -> tuple[str, str | None]:
    """This browser's token, and the cookie to set when it had none (or a forged one)."""
    token = signer.unsign(cookie)
    if token:
        return token, None
    token = secrets.token_urlsafe(24)
    return token, signer.sign(token)


def csrf_ok(signer: Signer, cookie: str | None, field: str | None) -> bool:
    token = signer.unsign(cookie)
    return bool(token and field) and hmac.compare_digest(token.encode(), str(field).encode())


# -- the token ------------------------------------------------------------------------------------

def read_token(path: Path) -> str:
    """The first line of the token file; InputError if it is empty or unreadable."""
    from ..errors import InputError
    from ..i18n import _

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(_("{path}: cannot read the token file: {reason}", path=path, reason=e.strerror)) from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(token) < 16:
        raise InputError(_("{path}: the token must be at least 16 characters (e.g. `python -c \"import secrets; "
                           "print(secrets.token_urlsafe(32))\"`)", path=path))
    return token


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def login_value(token: str) -> str:
    """What the login cookie carries: a digest of the token, so a new token logs everyone out."""
    return "ok:" + hashlib.sha256(("zhike-login:" + token).encode()).hexdigest()[:32]


def logged_in(signer: Signer, token: str, cookie: str | None) -> bool:
    value = signer.unsign(cookie, max_age=LOGIN_MAX_AGE)
    return value is not None and hmac.compare_digest(value.encode(), login_value(token).encode())


# -- middleware -------------------------------------------------------------------------------------

class TooLarge(Exception):
    """A request body over its limit (the app answers 413 in the user's language)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def body_limit(path: str) -> int:
    return UPLOAD_LIMIT if path in UPLOAD_PATHS else FORM_LIMIT


class LimitAndLog:
    """Pure ASGI middleware: bounds request bodies, adds the security headers, logs one line per request.

    A form or JSON body (at most FORM_LIMIT) is read here whole and handed on; one over the limit
    never reaches the app. An upload streams through, counted: the handler that reads it gets
    TooLarge past UPLOAD_LIMIT.
    """

    def __init__(self, app: ASGIApp, too_large: Callable[[dict, int], Awaitable[Any]],
                 crashed: Callable[[dict], Awaitable[Any]]) -> None:
        self.app = app
        self.too_large = too_large
        self.crashed = crashed

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        limit = body_limit(path)
        status: dict[str, Any] = {"code": 500, "started": False}

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["started"] = True
                status["code"] = message["status"]
                own = dict(message.get("headers", []))
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                headers += [(b"content-security-policy", own.get(b"content-security-policy", CSP.encode())),
                            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                            (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        try:
            length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
            if length is not None and (not length.isdigit() or int(length) > limit):
                await self._refuse(scope, receive, send_with_headers, limit)
                return
            if limit == FORM_LIMIT:
                body, more, chunks = 0, True, []
                while more:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    chunks.append(message.get("body", b""))
                    body += len(chunks[-1])
                    more = message.get("more_body", False)
                    if body > limit:
                        await self._refuse(scope, receive, send_with_headers, limit)
                        return
                whole = b"".join(chunks)
                sent = False

                async def replay() -> dict:
                    nonlocal sent
                    if not sent:
                        sent = True
                        return {"type": "http.request", "body": whole, "more_body": False}
                    return await receive()

                await self._call(scope, replay, send_with_headers)
                return
            seen = 0

            async def counted() -> dict:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise TooLarge(limit)
                return message

            await self._call(scope, counted, send_with_headers)
        except Exception as e:  # a bug: one translated page, and in the log the type only (a message may quote an answer)
            log.error("internal error: %s", type(e).__name__)
            if not status["started"]:
                response = await self.crashed(scope)
                await response(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or ("/static/…" if path.startswith("/static/") else "(no route)")
            log.info("%s %s %s %.1fms", scope.get("method", "-"), template, status["code"],
                     (time.perf_counter() - start) * 1000)

    async def _call(self, scope: dict, receive: Callable, send: Callable) -> None:
        await self.app(scope, receive, send)

    async def _refuse(self, scope: dict, receive: Callable, send: Callable, limit: int) -> None:
        response = await self.too_large(scope, limit)
        await response(scope, receive, send)
