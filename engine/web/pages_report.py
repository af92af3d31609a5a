"""The result of an interview: the one-screen report, downloads, and "change an answer"."""
from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..i18n import use
from .interviews import answers_list, finish_text, leading, report_json
from .pages import page, request_lang, require_login, web
from .reports import report_text, view_of
from .security import CSP_REPORT

router = APIRouter(dependencies=[Depends(require_login)])
_MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
          "json": "application/json; charset=utf-8"}


def interview_report(request: Request, interview_id: str, fmt: str, lang: str | None) -> tuple[str, str]:
    """The interview's report as text in `fmt` (json, md, html), in `lang` (None: the interview's own), and
    its status (asking, confident, exhausted)."""
    with web(request).interviews.open(interview_id, lang) as live:
        q, lang = live.q, live.lang
        question = live.current()  # brings the status up to date, as the end of `zhike ask` does
        result = q.result()
        if fmt == "json":
            text = json.dumps(report_json(q, result, lang), ensure_ascii=False, indent=2) + "\n"
        else:
            text = report_text(result, fmt, lang, q.not_applying())
    return text, "asking" if question is not None else q.status().reason


@router.get("/i/{interview_id}/report")
def report(request: Request, interview_id: str) -> Response:
    lang = request_lang(request)
    with web(request).interviews.open(interview_id, lang) as live:
        q = live.q
        question = live.current()
        result = q.result()
        view = view_of(result, lang, q.not_applying())
        with use(lang):
            info = {"id": interview_id, "finished": question is None, "finish": finish_text(q, lang),
                    "leading": leading(q, result, lang), "answered": len(q.answered), "notices": live.notices}
    return page(request, "result.html", view=view, interview=info)


@router.get("/i/{interview_id}/report.{fmt}")
def download(request: Request, interview_id: str, fmt: str) -> Response:
    if fmt not in _MEDIA:
        from starlette.exceptions import HTTPException

        raise HTTPException(404)
    text, _status = interview_report(request, interview_id, fmt, request_lang(request))
    headers = {"Content-Disposition": f'attachment; filename="zhike-report.{fmt}"'}
    if fmt == "html":
        headers["Content-Security-Policy"] = CSP_REPORT  # self-contained: its own <style>, no script
    return Response(text, media_type=_MEDIA[fmt], headers=headers)


@router.get("/i/{interview_id}/change")
def change(request: Request, interview_id: str) -> Response:
    with web(request).interviews.open(interview_id, request_lang(request)) as live:
        answers = answers_list(live)
    return page(request, "change.html", id=interview_id, answers=answers)
