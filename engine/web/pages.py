"""What every page shares: the language of the request, the templates, the CSRF token, the login check.

The language: `?lang=zh|en` (which also sets a cookie), else the cookie, else the
browser's Accept-Language, else zh. Pages are Jinja templates under templates/web/,
autoescaped, with `_()` bound to the page's language from the one message catalogue.
"""
from __future__ import annotations

import functools
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..i18n import DEFAULT_LANG, LANGS, tr
from ..paths import TEMPLATES
from .security import AUTH_COOKIE, CSRF_COOKIE, CSRF_FIELD, csrf_ok, csrf_token, logged_in

LANG_COOKIE = "zhike_lang"
YEAR = 365 * 24 * 3600


class LoginNeeded(Exception):
    """A page asked for without the login cookie, when a token file is configured."""


class CsrfRejected(Exception):
    """A form post whose CSRF field does not match this browser's token."""


def accept_language(header: str | None) -> str | None:
    """The first of zh/en in an Accept-Language header, by preference."""
    best: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower()[:2]
        if code in LANGS and quality > 0:
            best.append((-quality, i, code))
    return min(best)[2] if best else None


def request_lang(request: Request) -> str:
    asked = (request.query_params.get("lang") or "").lower()
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie
    return accept_language(request.headers.get("accept-language")) or DEFAULT_LANG


@functools.lru_cache(maxsize=4)
def environment(lang: str):
    """Autoescaped templates/web/ (and the report templates beside it) speaking `lang`."""
    import jinja2

    from ..report.render import install_catalogue

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATES / "web"), str(TEMPLATES)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    install_catalogue(env, lang)
    env.filters["pct"] = lambda x: "–" if x is None else f"{float(x):.0%}"
    return env


def web(request: Request) -> Any:
    return request.app.state.web


def page(request: Request, template: str, status: int = 200, **data: Any) -> HTMLResponse:
    """A page in the request's language, with the CSRF token for its forms and the language cookie."""
    lang = request_lang(request)
    token, new_cookie = csrf_token(web(request).signer, request.cookies.get(CSRF_COOKIE))
    here = request.url.path
    html = environment(lang).get_template(template).render(
        lang=lang, csrf=token, csrf_field=CSRF_FIELD, here=here, other_lang="en" if lang == "zh" else "zh",
        auth=web(request).token is not None, **data)
    response = HTMLResponse(html, status_code=status)
    remember_lang(request, response)
    if new_cookie:
        response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="strict", path="/")
    return response


def remember_lang(request: Request, response: Response) -> None:
    asked = (request.query_params.get("lang") or "").lower()
    if asked in LANGS and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=YEAR, samesite="strict", path="/")


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def t(request: Request, message: str, **params: Any) -> str:
    """A message in the request's language."""
    return tr(request_lang(request), message, **params)


async def form_of(request: Request) -> dict[str, Any]:
    """A posted form (urlencoded), checked against this browser's CSRF token; raises CsrfRejected."""
    form = await request.form()
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
    check_csrf(request, (fields.get(CSRF_FIELD) or [None])[0])
    return fields


def check_csrf(request: Request, field: str | None) -> None:
    if not csrf_ok(web(request).signer, request.cookies.get(CSRF_COOKIE), field):
        raise CsrfRejected()


def first(fields: dict[str, list[str]], key: str, default: str = "") -> str:
    values = fields.get(key) or []
    return values[0] if values else default


def require_login(request: Request) -> None:
    """Dependency of every page: with a token file, the signed login cookie."""
    w = web(request)
    if w.token is not None and not logged_in(w.signer, w.token, request.cookies.get(AUTH_COOKIE)):
        raise LoginNeeded()
