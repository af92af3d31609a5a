"""Security of `zhike serve`: each point of the issue, with a test that fails if the protection is removed.

Headers, CSRF, the token (API bearer, page login cookie), binding, ids, one interview per id,
size limits, and logs without customer words.
"""
# ruff: noqa: F401, F811 -- pytest fixtures come in by import (tests/web/conftest.py is the browser tests')
from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest_app import TOKEN, api_answer_some, client, csrf_of, make_client, start_interview, web_pool

ROOT = Path(__file__).resolve().parents[2]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
       "form-action 'self'; base-uri 'none'")


# -- headers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/playbook", "/batch", "/api/v1/health", "/static/app.css",
                                  "/i/" + "A" * 32, "/api/v1/interviews/" + "A" * 32])
def test_security_headers_on_every_kind_of_response(client, path):
    r = client.get(path)
    assert r.headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client):
    interview_id = start_interview(client)
    for path in ("/", f"/i/{interview_id}", f"/i/{interview_id}/report", "/playbook", "/batch"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and " style=" not in html and " on" + "click=" not in html, path


def test_the_print_report_may_style_itself_but_never_run_a_script(client):
    interview_id = start_interview(client)
    r = client.get(f"/i/{interview_id}/report.html")
    csp = r.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


# -- CSRF -----------------------------------------------------------------------------------------

def test_a_form_post_without_the_csrf_field_is_refused(client):
    csrf_of(client)  # the browser has its cookie …
    r = client.post("/interviews", data={"goals": "default"})  # … but the form lacks the field
    assert r.status_code == 403
    assert "data-testid=\"error\"" in r.text


def test_a_form_post_with_a_wrong_token_is_refused(client):
    csrf_of(client)
    assert client.post("/interviews", data={"csrf": "forged", "goals": "default"}).status_code == 403


def test_a_token_from_another_browser_is_refused(make_client):
    attacker, victim = make_client(), make_client()
    stolen = csrf_of(attacker)
    csrf_of(victim)
    assert victim.post("/interviews", data={"csrf": stolen}).status_code == 403
    assert attacker.post("/interviews", data={"csrf": stolen}).status_code == 303


def test_every_interview_form_checks_csrf(client):
    interview_id = start_interview(client)
    page = client.get(f"/i/{interview_id}").text
    fact = re.search(r'name="fact" value="([^"]+)"', page).group(1)
    for action, data in (("answer", {"fact": fact, "choice": "1"}), ("skip", {"fact": fact}), ("back", {})):
        r = client.post(f"/i/{interview_id}/{action}", data=data)
        assert r.status_code == 403, action
    state = client.get(f"/api/v1/interviews/{interview_id}").json()
    assert state["answers"] == {} and state["skipped"] == []  # nothing was done


def test_upload_and_login_forms_check_csrf(make_client, tmp_path):
    c = make_client()
    csrf_of(c, "/batch")
    r = c.post("/batch", files={"file": ("p.csv", b"pace\nfast\n", "text/csv")}, data={"csrf": "forged"})
    assert r.status_code == 403
    assert not list((c.app.state.web.config.data / "batch").glob("*/input.csv"))  # the upload was thrown away
    secured = make_client(token=TOKEN)
    csrf_of(secured, "/login")
    assert secured.post("/login", data={"token": TOKEN}).status_code == 403


# -- the token ----------------------------------------------------------------------------------------

def test_without_a_token_file_the_api_and_pages_are_open(client):
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 303  # nothing to log in to


def test_with_a_token_the_api_needs_the_bearer(make_client):
    c = make_client(token=TOKEN)
    r = c.get("/api/v1/health")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/api/v1/health", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert c.get("/api/v1/health", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert c.post("/api/v1/interviews", json={}).status_code == 401
    ok = c.get("/api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200


def test_with_a_token_pages_ask_to_log_in(make_client):
    c = make_client(token=TOKEN)
    for path in ("/", "/playbook", "/batch", "/i/" + "A" * 32):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    token = csrf_of(c, "/login")
    wrong = c.post("/login", data={"csrf": token, "token": "not-the-token-at-all", "next": "/"})
    assert wrong.status_code == 401 and "zhike_auth" not in wrong.headers.get("set-cookie", "")
    right = c.post("/login", data={"csrf": token, "token": TOKEN, "next": "/playbook"})
    assert right.status_code == 303 and right.headers["location"] == "/playbook"
    cookie = right.headers["set-cookie"]
    assert "zhike_auth=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert c.get("/").status_code == 200


def test_a_forged_login_cookie_is_refused(make_client):
    c = make_client(token=TOKEN)
    c.cookies.set("zhike_auth", "ok:" + "0" * 32)
    assert c.get("/").status_code == 303


def test_login_never_sends_elsewhere(make_client):
    c = make_client(token=TOKEN)
    token = csrf_of(c, "/login")
    r = c.post("/login", data={"csrf": token, "token": TOKEN, "next": "//evil.example/x"})
    assert r.headers["location"] == "/"


def test_tokens_are_compared_in_constant_time():
    import inspect

    from engine.web import security

    assert "compare_digest" in inspect.getsource(security.token_matches)
    assert "compare_digest" in inspect.getsource(security.csrf_ok)


# -- binding ------------------------------------------------------------------------------------------

def test_another_host_without_a_token_file_exits_2_with_one_line():
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--host", "0.0.0.0", "--lang", "en"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--token-file" in lines[0]


def test_the_default_host_is_local():
    from engine.commands.serve import is_local

    assert is_local("127.0.0.1") and is_local("::1") and is_local("localhost")
    assert not is_local("0.0.0.0") and not is_local("192.168.1.10")


# -- ids ---------------------------------------------------------------------------------------------------

def test_interview_ids_are_unguessable(client):
    ids = {client.post("/api/v1/interviews", json={}).json()["id"] for _ in range(20)}
    assert len(ids) == 20
    for i in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", i)  # 24 random bytes: 192 bits (>= 128)
    from engine.web.store import ID_BYTES

    assert ID_BYTES * 8 >= 128


def test_one_interview_is_never_readable_with_another_id(client):
    a = client.post("/api/v1/interviews", json={}).json()["id"]
    b = client.post("/api/v1/interviews", json={}).json()["id"]
    api_answer_some(client, a, 2, utterance="只属于甲的话")
    assert client.get(f"/api/v1/interviews/{b}").json()["answers"] == {}
    assert "只属于甲的话" not in client.get(f"/i/{b}/report").text
    assert "只属于甲的话" not in client.get(f"/i/{b}/report.json").text
    near = a[:-1] + ("A" if a[-1] != "A" else "B")
    assert client.get(f"/api/v1/interviews/{near}").status_code == 404
    assert client.get(f"/i/{near}/report").status_code == 404


# -- size limits ---------------------------------------------------------------------------------------------

def test_a_big_json_body_is_413_in_the_users_language(client):
    body = b'{"facts": {}, "utterances": ["' + b"x" * (1024 * 1024 + 10) + b'"]}'
    r = client.post("/api/v1/classify", content=body, headers={"content-type": "application/json",
                                                               "accept-language": "zh"})
    assert r.status_code == 413 and "1 MB" in r.json()["error"]["message"] and "太大" in r.json()["error"]["message"]


def test_a_big_body_without_a_length_is_counted_as_it_comes(client):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = client.post("/api/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_big_form_is_413_as_a_page(client):
    token = csrf_of(client)
    r = client.post("/interviews?lang=en", data={"csrf": token, "goals": "x" * (1024 * 1024 + 1)})
    assert r.status_code == 413 and 'data-testid="error"' in r.text and "1 MB" in r.text


def test_an_upload_over_its_limit_is_413(client, monkeypatch):
    from engine.web import security

    monkeypatch.setattr(security, "UPLOAD_LIMIT", 2048)
    token = csrf_of(client, "/batch")
    r = client.post("/batch?lang=en", data={"csrf": token},
                    files={"file": ("big.csv", b"pace\n" + b"fast\n" * 2000, "text/csv")})
    assert r.status_code == 413 and "2 KB" in r.text


# -- logs ---------------------------------------------------------------------------------------------------------

def test_logs_have_one_line_per_request_and_no_customer_words(client, caplog):
    secret = "客户原话机密XYZ"
    with caplog.at_level(logging.INFO, logger="zhike.web"):
        interview_id = client.post("/api/v1/interviews", json={}).json()["id"]
        api_answer_some(client, interview_id, 4, utterance=secret)
        client.post("/api/v1/classify", json={"utterances": [secret]})
        client.get(f"/i/{interview_id}/report")
        client.post(f"/api/v1/interviews/{interview_id}/answers", json={"fact": "pace", "value": secret})
    lines = [r.getMessage() for r in caplog.records if r.name == "zhike.web"]
    assert lines
    text = "\n".join(lines)
    assert secret not in text
    assert interview_id not in text  # the path template, never the id
    assert re.search(r"^POST /api/v1/interviews/\{interview_id\}/answers 200 [\d.]+ms$", text, re.M)
    assert re.search(r"^POST /api/v1/interviews/\{interview_id\}/answers 422 [\d.]+ms$", text, re.M)


def test_an_internal_error_is_a_page_without_traceback(client, monkeypatch, caplog):
    from engine.web import pages_interview

    def broken(*a, **k):
        raise RuntimeError("boom with customer words 机密")

    monkeypatch.setattr(pages_interview, "_question_page", broken)
    with caplog.at_level(logging.INFO, logger="zhike.web"):
        r = client.get("/i/" + "A" * 32, headers={"accept-language": "zh"})
    assert r.status_code == 500 and "Traceback" not in r.text and "boom" not in r.text
    assert 'data-testid="error"' in r.text and "服务器" in r.text
    assert "机密" not in caplog.text


def test_a_token_file_with_too_short_a_token_exits_2(tmp_path):
    short = tmp_path / "token"
    short.write_text("abc\n", encoding="utf-8")
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--host", "0.0.0.0", "--token-file", str(short),
                        "--lang", "en"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "16 characters" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_the_token_is_the_first_line_of_its_file(tmp_path):
    from engine.web.security import read_token

    f = tmp_path / "token"
    f.write_text(f"  {TOKEN}  \nsecond line\n", encoding="utf-8")
    assert read_token(f) == TOKEN


def test_a_port_in_use_is_one_line_and_exit_2():
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--lang", "en"],
                           capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and f"127.0.0.1:{port}" in r.stderr
