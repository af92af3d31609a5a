"""Fixtures for the in-process tests of `zhike serve` (FastAPI's TestClient, no socket, no browser).

One pool of compiled rulebases (the bundled rulebase) is shared by the whole session, so each
test gets a fresh app and data folder without compiling again. Import the fixtures you use:
`from .conftest_app import client, make_client` with `# ruff: noqa: F401, F811` at the top
(pytest finds fixtures imported into a test module).
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = "test-token-0123456789-abcdefghij"


@pytest.fixture(scope="session")
def web_pool():
    from engine.paths import default_rulebase
    from engine.web.pool import RulebasePool

    pool = RulebasePool(default_rulebase(), 2)
    yield pool
    pool.close()


@pytest.fixture
def make_client(web_pool, tmp_path) -> Iterator[Callable[..., TestClient]]:
    """make_client(token=None, **kw) -> a TestClient on a new app with its own data folder."""
    from engine.paths import default_rulebase
    from engine.trainer.doc import playbook
    from engine.web import Config, create_app

    made: list[TestClient] = []

    def make(token: str | None = None, data: Path | None = None, **kw: Any) -> TestClient:
        folder = data or tmp_path / f"data{len(made)}"
        app = create_app(Config(rulebase=default_rulebase(), data=folder, token=token, playbook=playbook),
                         pool=web_pool)
        c = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False, follow_redirects=False,
                       **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def csrf_of(c: TestClient, path: str = "/") -> str:
    """The CSRF token of the forms on `path` (the client keeps the cookie that goes with it)."""
    r = c.get(path)
    found = CSRF.search(r.text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def start_interview(c: TestClient, goals: str = "default", lang: str = "zh") -> str:
    """Through the pages: the start form, as a browser posts it. Returns the interview id."""
    token = csrf_of(c, f"/?lang={lang}")
    r = c.post("/interviews", data={"csrf": token, "goals": goals})
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[1]


def api_answer_some(c: TestClient, interview_id: str, n: int, utterance: str = "太贵了") -> dict:
    """Answer `n` questions through the API (first choice, the given words, yes, or 5)."""
    facts = {f["id"]: f for f in c.get("/api/v1/facts").json()}
    state = c.get(f"/api/v1/interviews/{interview_id}").json()
    for _ in range(n):
        q = state["question"]
        if q is None:
            break
        f = facts[q["fact"]]
        if q["kind"] == "utterances":
            body: dict[str, Any] = {"utterance": utterance}
        elif f["values"]:
            body = {"fact": f["id"], "value": [f["values"][0]] if f["type"] == "list" else f["values"][0]}
        elif f["type"] == "bool":
            body = {"fact": f["id"], "value": True}
        else:
            body = {"fact": f["id"], "value": 5}
        r = c.post(f"/api/v1/interviews/{interview_id}/answers", json=body)
        assert r.status_code == 200, r.text
        state = r.json()
    return state


def visible_text(html: str) -> str:
    """What a reader sees of a page: no tags, scripts, styles or attribute values."""
    html = re.sub(r"(?is)<(script|style|title)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<[^>]*>", " ", html)
    import html as h

    return " ".join(h.unescape(html).split())
