"""The playbook (`zhike rules doc`) for reps, browsable by typology.

The data is engine/trainer/doc.py's `playbook()`, the same the trainers' document
is rendered from; the pages leave out what is for trainers only (their notes, rule
ids, the YAML index) and show each typology on its own page. engine/trainer is a
sibling layer, so the function comes in through `Config.playbook` (engine/commands/serve.py
passes it): the web package never imports the trainers' package.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ..i18n import use
from .pages import page, request_lang, require_login, web

router = APIRouter(dependencies=[Depends(require_login)])


def book(request: Request) -> dict[str, Any]:
    """The playbook in the request's language, built once per language (the rulebase does not change)."""
    w, lang = web(request), request_lang(request)
    if w.config.playbook is None:
        raise HTTPException(404)
    cache = w.extra.setdefault("playbook", {})
    if lang not in cache:
        with use(lang):
            cache[lang] = w.config.playbook(w.pool.rulebase, lang)
    return cache[lang]


@router.get("/playbook")
def index(request: Request) -> Response:
    data = book(request)
    return page(request, "playbook.html", book=data, typology=None)


@router.get("/playbook/{typology_id}")
def typology(request: Request, typology_id: str) -> Response:
    data = book(request)
    found = next((t for t in data["typologies"] if t["id"] == typology_id), None)
    if found is None:
        raise HTTPException(404)
    return page(request, "playbook.html", book=data, typology=found)
