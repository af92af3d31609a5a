"""The `zhike serve` application: FastAPI, server-rendered pages, the JSON API, one process.

`create_app(config)` wires the pieces: the rulebase pool (engine/web/pool.py),
the interview store (store.py), the interview service (interviews.py), the
security layer (security.py) and the routers — pages for reps (start, interview,
report, playbook), the batch page for sales ops, the API under /api/v1 for CRMs.
Errors become a page (or JSON under /api) in the user's language; a traceback
never reaches anyone, and the log holds one line per request without customer words.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import ZhikeError
from ..i18n import tr
from ..reasoning.profile import ValueProblem
from .interviews import InterviewService, NotFound
from .pages import CsrfRejected, LoginNeeded, page, request_lang, see_other
from .pool import DEFAULT_POOL, RulebasePool
from .security import LimitAndLog, Signer, TooLarge, secret_key
from .store import Store

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("zhike.web")


@dataclass
class Config:
    rulebase: Path
    data: Path
    token: str | None = None
    pool: int = DEFAULT_POOL
    # the playbook's data, `(rulebase, lang) -> dict` (engine.trainer.doc.playbook, a sibling layer); None: no playbook
    playbook: Callable[[Any, str], dict[str, Any]] | None = None


@dataclass
class Web:
    """What the routers share (app.state.web)."""

    config: Config
    pool: RulebasePool
    store: Store
    interviews: InterviewService
    signer: Signer
    token: str | None
    batches: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, *, detail: list | None = None,
           headers: dict[str, str] | None = None) -> Response:
    if _is_api(request):
        body: dict[str, Any] = {"error": {"status": status, "message": message}}
        if detail is not None:
            body["detail"] = detail
        return JSONResponse(body, status_code=status, headers=headers)
    response = page(request, "error.html", status=status, status_code=status, message=message, problems=[
        d["msg"] for d in detail or []])
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _messages(request: Request) -> dict[int, str]:
    lang = request_lang(request)
    return {
        400: tr(lang, "The request could not be read."),
        401: tr(lang, "Sign in first: this server needs its access token."),
        403: tr(lang, "Not allowed."),
        404: tr(lang, "There is nothing at this address. An interview link must be copied whole."),
        405: tr(lang, "This address does not take that kind of request."),
        413: tr(lang, "Too large: the most this server takes is {size}.", size="?"),
        500: tr(lang, "Something went wrong on the server; nothing you entered is lost. Try again, or tell "
                      "whoever runs this server."),
    }


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def _field_path(loc: Any) -> str:
    return ".".join(str(p) for p in loc)


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = _messages(request)
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code in (401, 422) and exc.detail \
            else messages.get(exc.status_code, messages[400])
        return _error(request, exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        lang = request_lang(request)
        detail = []
        for e in exc.errors():
            where = _field_path(e.get("loc", ()))
            if e.get("type") == "json_invalid":
                msg = tr(lang, "not valid JSON")
            elif e.get("type") == "missing":
                msg = tr(lang, "this is missing")
            else:
                msg = tr(lang, "not a valid value here")
            detail.append({"loc": list(e.get("loc", ())), "field": where, "type": e.get("type"), "msg": msg})
        first = detail[0] if detail else {"field": "body", "msg": ""}
        message = tr(lang, "{field}: {problem}", field=first["field"], problem=first["msg"])
        return _error(request, 422, message, detail=detail)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, _messages(request)[404])

    @app.exception_handler(ValueProblem)
    async def bad_value(request: Request, exc: ValueProblem) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(ZhikeError)
    async def user_error(request: Request, exc: ZhikeError) -> Response:
        problems = [p.message for p in getattr(exc, "problems", None) or []]
        message = str(exc) if str(exc) and not problems else "; ".join(problems[:5])
        return _error(request, 422, message or tr(request_lang(request), "The request could not be read."),
                      detail=[{"loc": ["body"], "field": "body", "msg": p} for p in problems] or None)

    @app.exception_handler(CsrfRejected)
    async def csrf(request: Request, exc: CsrfRejected) -> Response:
        return _error(request, 403, tr(request_lang(request), "This form has expired or did not come from this "
                                                               "site. Go back, reload the page and send it again."))

    @app.exception_handler(LoginNeeded)
    async def login(request: Request, exc: LoginNeeded) -> Response:
        from urllib.parse import quote

        return see_other("/login?next=" + quote(request.url.path, safe="/"))

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> Response:
        return _too_large(request, exc.limit)



def _too_large(request: Request, limit: int) -> Response:
    return _error(request, 413, tr(request_lang(request), "Too large: the most this server takes is {size}.",
                                   size=_size(limit)))


def create_app(config: Config, pool: RulebasePool | None = None) -> FastAPI:
    from . import api, batch, pages_interview, pages_report, pages_start, playbook
    from .batch_jobs import BatchJobs

    config.data.mkdir(parents=True, exist_ok=True)
    pool = pool or RulebasePool(config.rulebase, config.pool)
    store = Store(config.data)
    web = Web(config, pool, store, InterviewService(pool, store), Signer(secret_key(config.data)), config.token)
    web.batches = BatchJobs(config.data, config.rulebase)
    app = FastAPI(title="zhike", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/api/v1/openapi.json",
                  description="zhike (知客): who is your customer, and how to sell to them.")
    app.state.web = web
    install_errors(app)
    for module in (pages_start, pages_interview, pages_report, playbook, batch, api):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    async def refuse(scope: dict, limit: int) -> Response:
        return _too_large(Request(scope), limit)

    async def crashed(scope: dict) -> Response:
        return _error(Request(scope), 500, _messages(Request(scope))[500])

    app.add_middleware(LimitAndLog, too_large=refuse, crashed=crashed)
    return app


def warm_up(app: FastAPI) -> None:
    """Do once, before the first rep waits for it, what the first interview would otherwise pay for:
    the questionnaire's relevance graph, the word matcher's dictionary (jieba loads it on first use),
    one look-ahead. Then close this thread's database connection (worker processes are forked after
    this: a connection never crosses a fork) and move everything built so far out of the garbage
    collector's way (gc.freeze): the rulebase and these tables live as long as the server, and a full
    collection walking them took 100+ ms per pause under load (also shared copy-on-write by workers)."""
    import gc

    from ..interview.questionnaire import Questionnaire
    from ..reasoning.inference import infer
    from ..reasoning.profile import Profile

    web: Web = app.state.web
    with web.pool.checkout() as compiled:
        infer(compiled, Profile({}, ["太贵了,我们再考虑考虑", "too expensive"], ""))
        Questionnaire(compiled).next_question()
    web.store.close()
    gc.collect()
    gc.freeze()
