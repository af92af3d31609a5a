"""The interview pages: one question at a time, answer, why, back, don't know, report now.

GET /i/{id} shows the question `zhike ask` would ask now (or, with ?change=FACT,
an answered question again, to change its answer); the forms post to
/i/{id}/answer, /i/{id}/back and /i/{id}/skip and come back here (303).
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ..i18n import _, use
from ..reasoning.profile import ValueProblem
from .interviews import Live, leading, question_view
from .pages import first, form_of, page, request_lang, require_login, see_other, web

router = APIRouter(dependencies=[Depends(require_login)])


def _question_page(request: Request, interview_id: str, *, change: str | None = None, problem: str | None = None,
                   typed: str = "", status: int = 200) -> Response:
    lang = request_lang(request)
    service = web(request).interviews
    with service.open(interview_id, lang) as live:
        if change and change in live.q.rb.facts:
            question = live.q.question(change)
            view = question_view(live, question, with_step=False)
        else:
            question = live.current()
            if question is None:
                return see_other(f"/i/{interview_id}/report")
            view = question_view(live, question)
        data = _common(live)
    return page(request, "question.html", status=status, id=interview_id, q=view, changing=bool(change),
                problem=problem, typed=typed, **data)


def _common(live: Live) -> dict[str, Any]:
    result = live.q.result()
    with use(live.lang):
        lead = leading(live.q, result, live.lang)
        return {"leading": lead, "notices": list(live.notices), "answered": len(live.q.answered),
                "can_go_back": bool(live.q.log)}


@router.get("/i/{interview_id}")
def interview(request: Request, interview_id: str, change: str | None = None) -> Response:
    return _question_page(request, interview_id, change=change)


@router.post("/i/{interview_id}/answer")
async def answer(request: Request, interview_id: str) -> Response:
    fields = await form_of(request)
    fact = first(fields, "fact")
    choices = fields.get("choice") or []
    typed = first(fields, "text")
    lang = request_lang(request)

    def work() -> Response:
        service = web(request).interviews
        try:
            with service.open(interview_id, lang) as live:
                service.answer_form(live, fact, choices, typed)
        except ValueProblem as e:
            changing = fact if first(fields, "changing") else None
            return _question_page(request, interview_id, change=changing, problem=str(e), typed=typed, status=422)
        return see_other(f"/i/{interview_id}")

    return await run_in_threadpool(work)


@router.post("/i/{interview_id}/skip")
async def skip(request: Request, interview_id: str) -> Response:
    fields = await form_of(request)
    fact = first(fields, "fact") or None

    def work() -> None:
        service = web(request).interviews
        with service.open(interview_id, request_lang(request)) as live:
            service.skip(live, fact if fact in live.q.rb.facts else None)

    await run_in_threadpool(work)
    return see_other(f"/i/{interview_id}")


@router.post("/i/{interview_id}/back")
async def back(request: Request, interview_id: str) -> Response:
    await form_of(request)

    def work() -> None:
        service = web(request).interviews
        with service.open(interview_id, request_lang(request)) as live:
            service.back(live)

    await run_in_threadpool(work)
    return see_other(f"/i/{interview_id}")


@router.get("/i/{interview_id}/why")
def why(request: Request, interview_id: str) -> Response:
    """Why this question (the same text as the expandable block of the question page), as its own page."""
    lang = request_lang(request)
    with web(request).interviews.open(interview_id, lang) as live:
        question = live.current()
        if question is None:
            return see_other(f"/i/{interview_id}/report")
        view = question_view(live, question, with_step=False)
    with use(lang):
        title = _("Why this question")
    return page(request, "why.html", id=interview_id, q=view, title=title)
