"""The start page (new interview, resume by link, a pasted or uploaded profile) and the login."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ..i18n import tr
from .pages import first, form_of, page, request_lang, require_login, see_other, web
from .security import AUTH_COOKIE, LOGIN_MAX_AGE, login_value, token_matches
from .store import valid_id

router = APIRouter()
_ID_IN = re.compile(r"(?:/i/)?([A-Za-z0-9_-]{32})(?:[/?#]|$)")
PROFILE_LIMIT = 256 * 1024


@router.get("/", dependencies=[Depends(require_login)])
def start(request: Request) -> Response:
    return page(request, "start.html", problem=None, profile_text="", resume_text="")


@router.post("/interviews", dependencies=[Depends(require_login)])
async def new_interview(request: Request) -> Response:
    fields = await form_of(request)
    goals = ["all"] if first(fields, "goals") == "all" else []
    lang = request_lang(request)
    interview_id = await run_in_threadpool(web(request).interviews.start, goals, lang)
    return see_other(f"/i/{interview_id}")


@router.post("/resume", dependencies=[Depends(require_login)])
async def resume(request: Request) -> Response:
    fields = await form_of(request)
    text = first(fields, "link").strip()
    found = _ID_IN.search(text)
    interview_id = found.group(1) if found else text
    if valid_id(interview_id) and await run_in_threadpool(web(request).interviews.exists, interview_id):
        return see_other(f"/i/{interview_id}")
    problem = tr(request_lang(request), "No interview has this link. Copy the whole address of the interview page.")
    return page(request, "start.html", status=404, problem=problem, profile_text="", resume_text=text)


@router.post("/classify", dependencies=[Depends(require_login)])
async def classify(request: Request) -> Response:
    """A profile pasted (YAML or JSON, as `zhike classify` reads it) or uploaded: the result page."""
    form = await request.form(max_files=1, max_fields=10)
    from .pages import check_csrf

    check_csrf(request, form.get("csrf") if isinstance(form.get("csrf"), str) else None)
    text = form.get("profile") if isinstance(form.get("profile"), str) else ""
    upload = form.get("profile_file")
    if upload is not None and not isinstance(upload, str) and upload.filename:
        raw = await upload.read(PROFILE_LIMIT + 1)
        text = raw.decode("utf-8", errors="replace")
    lang = request_lang(request)
    if not text.strip():
        return page(request, "start.html", status=422, problem=tr(lang, "Paste a profile or choose a file first."),
                    profile_text="", resume_text="")
    from .reports import classify_text

    try:
        view = await run_in_threadpool(classify_text, web(request).pool, text, lang)
    except Exception as e:  # a profile that cannot be read: the reason, on the start page, with the text kept
        from ..errors import ZhikeError
        from ..reasoning.profile import ValueProblem

        if not isinstance(e, (ZhikeError, ValueProblem)):
            raise
        problems = [p.message for p in getattr(e, "problems", None) or []] or [str(e)]
        return page(request, "start.html", status=422, problem="; ".join(problems[:5]), profile_text=text,
                    resume_text="")
    return page(request, "result.html", view=view, interview=None)


@router.get("/login")
def login_form(request: Request) -> Response:
    if web(request).token is None:
        return see_other("/")
    return page(request, "login.html", problem=None, next=_next(request.query_params.get("next")))


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await form_of(request)
    w = web(request)
    if w.token is None:
        return see_other("/")
    target = _next(first(fields, "next"))
    if not token_matches(w.token, first(fields, "token").strip()):
        return page(request, "login.html", status=401, next=target,
                    problem=tr(request_lang(request), "That is not this server's access token."))
    response = see_other(target)
    response.set_cookie(AUTH_COOKIE, w.signer.sign(login_value(w.token)), max_age=LOGIN_MAX_AGE, httponly=True,
                        samesite="strict", path="/", secure=request.url.scheme == "https")
    return response


def _next(target: str | None) -> str:
    """Where to go after logging in: a path on this server only (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
