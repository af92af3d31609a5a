"""The JSON API under /api/v1, for CRMs (a HubSpot webhook, a Salesforce flow) and other front ends.

`POST /classify` returns exactly the `zhike classify --format json` document; the
interview endpoints drive the same questionnaire as the pages. The language is
the body's `lang`, else `?lang=`, else Accept-Language, else zh. With a token file,
every endpoint needs `Authorization: Bearer <token>` (401 otherwise).
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from .. import __version__
from ..i18n import LANGS, tr, use
from ..interview.questionnaire import SKIP
from .interviews import Live, answers_given, finish_text, leading, question_view
from .pages import environment, request_lang, web
from .security import bearer, token_matches

MAX_ITEMS = 1000


def require_token(request: Request) -> None:
    w = web(request)
    if w.token is not None and not token_matches(w.token, bearer(request.headers.get("authorization"))):
        raise HTTPException(401, tr(request_lang(request), "This API needs the server's access token: "
                                                           "Authorization: Bearer <token>."),
                            headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])


class ProfileIn(BaseModel):
    """A customer profile, as a `zhike classify` profile file holds it."""

    model_config = ConfigDict(extra="forbid")
    facts: dict[str, Any] = Field(default_factory=dict, max_length=MAX_ITEMS)
    utterances: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    rep_notes: list[str] | None = Field(default=None, max_length=MAX_ITEMS)
    name: str | None = Field(default=None, max_length=500)


class NewInterview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    goals: Literal["default", "all"] | list[str] = "default"
    lang: Literal["zh", "en"] | None = None


class AnswerIn(BaseModel):
    """One answer: `{fact, value}` (value as in a profile; null = don't know) or `{utterance}`."""

    model_config = ConfigDict(extra="forbid")
    fact: str | None = Field(default=None, max_length=200)
    value: Any = None
    utterance: str | None = Field(default=None, max_length=10000)


def _lang(request: Request, asked: str | None = None) -> str:
    return asked if asked in LANGS else request_lang(request)


def _own(asked: str | None) -> str | None:
    """An interview speaks the language it was started in, unless ?lang= asks for another."""
    return asked if asked in LANGS else None


def state(live: Live, *, next_question: bool = True) -> dict[str, Any]:
    """The interview as the API shows it: the next question, its progress, the leading conclusions."""
    q, lang = live.q, live.lang
    question = live.current() if next_question else None
    view = question_view(live, question) if question is not None else None
    result = q.result()
    with use(lang):
        out: dict[str, Any] = {
            "id": live.id,
            "status": "asking" if question is not None else q.status().reason,
            "question": None,
            "progress": None,
            "leading": leading(q, result, lang),
            "notices": list(live.notices),
            "answered": len(q.answered),
            "answers": answers_given(q),
            "skipped": [e.fact for e in q.log if e.value is SKIP],
        }
        if view is not None:
            out["question"] = {"fact": view["fact"], "kind": view["kind"], "text": view["text"],
                               "label": view["label"], "help": view["help"], "hint": view["hint"],
                               "choices": [{"value": c["value"], "label": c["label"]} for c in view["choices"]],
                               "why": view["why"]}
            out["progress"] = {"number": view["number"], "left": view["left"]}
        else:
            out["finished"] = finish_text(q, lang)
        return out


@router.post("/classify")
async def classify(request: Request, profile: ProfileIn, lang: str | None = Query(None)) -> Response:
    from .reports import classify_json

    data = profile.model_dump(exclude_none=True)
    text = await run_in_threadpool(classify_json, web(request).pool, data, _lang(request, lang))
    return Response(text, media_type="application/json; charset=utf-8")


@router.post("/interviews", status_code=201)
def create(request: Request, body: NewInterview | None = None) -> dict[str, Any]:
    body = body or NewInterview()
    lang = _lang(request, body.lang)
    goals = [] if body.goals == "default" else (["all"] if body.goals == "all" else list(body.goals))
    service = web(request).interviews
    with use(lang):
        interview_id = service.start(goals, lang)
    with service.open(interview_id, lang) as live:
        return state(live)


@router.get("/interviews/{interview_id}")
def get(request: Request, interview_id: str, lang: str | None = Query(None)) -> dict[str, Any]:
    with web(request).interviews.open(interview_id, _own(lang)) as live:
        return state(live)


@router.post("/interviews/{interview_id}/answers")
def answer(request: Request, interview_id: str, body: AnswerIn, lang: str | None = Query(None)) -> Any:
    if (body.fact is None) == (body.utterance is None):
        return JSONResponse(status_code=422, content={
            "error": {"status": 422, "message": tr(_lang(request, lang), "give either fact and value, or utterance")},
            "detail": [{"loc": ["body"], "field": "body", "type": "value_error",
                        "msg": tr(_lang(request, lang), "give either fact and value, or utterance")}]})
    service = web(request).interviews
    with service.open(interview_id, _own(lang)) as live:
        if body.utterance is not None:
            service.utterance(live, body.utterance)
        else:
            if body.fact not in live.q.rb.facts:
                from ..errors import InputError

                raise InputError(tr(live.lang, "unknown question {fact!r}", fact=body.fact))
            service.answer_value(live, body.fact, body.value)
        return state(live)


@router.post("/interviews/{interview_id}/back")
def back(request: Request, interview_id: str, lang: str | None = Query(None)) -> dict[str, Any]:
    service = web(request).interviews
    with service.open(interview_id, _own(lang)) as live:
        service.back(live)
        return state(live)


@router.post("/interviews/{interview_id}/skip")
def skip(request: Request, interview_id: str, lang: str | None = Query(None)) -> dict[str, Any]:
    service = web(request).interviews
    with service.open(interview_id, _own(lang)) as live:
        service.skip(live)
        return state(live)


@router.get("/interviews/{interview_id}/report")
def report(request: Request, interview_id: str, format: Literal["json", "md", "html"] = "json",
           lang: str | None = Query(None)) -> Response:
    from .pages_report import _MEDIA, interview_report
    from .security import CSP_REPORT

    text, _status = interview_report(request, interview_id, format, _own(lang))
    headers = {"Content-Security-Policy": CSP_REPORT} if format == "html" else None
    return Response(text, media_type=_MEDIA[format], headers=headers)


@router.get("/facts")
def facts(request: Request) -> list[dict[str, Any]]:
    """The fact catalogue (as `zhike facts --json`): what a profile and an answer may name."""
    rb = web(request).pool.rulebase
    return [{"id": f.id, "type": f.type, "label": f.label.to_json(), "question": f.question.to_json(),
             "help": f.help.to_json() if f.help else None, "values": list(f.values) if f.values else None,
             "value_labels": {v.id: v.label.to_json() for v in f.values.values()} if f.values else None,
             "min": f.min, "max": f.max, "unit": f.unit.to_json() if f.unit else None, "topic": f.topic}
            for f in rb.facts.values()]


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    rb = web(request).pool.rulebase
    return {"rulebase": rb.name, "version": rb.version, "sha256": rb.sha256, "zhike": __version__}


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> Response:
    """The API described from its own OpenAPI document (served here: no CDN, no script)."""
    from .pages import page

    spec = request.app.openapi()
    endpoints = [{"method": m.upper(), "path": p, "summary": op.get("summary", ""),
                  "description": (op.get("description") or "").strip()}
                 for p, ops in spec.get("paths", {}).items() if p.startswith("/api/") for m, op in ops.items()]
    environment(request_lang(request))  # warm the environment of this language
    return page(request, "api_docs.html", endpoints=endpoints)
