"""The JSON API of `zhike serve` (/api/v1), in process: every endpoint and every error code.

The classify contract is checked against the library's own JSON rendering (what `zhike
classify --format json` prints) for every golden case, and once against the real command.
"""
# ruff: noqa: F401, F811 -- pytest fixtures come in by import (tests/web/conftest.py is the browser tests')
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest_app import api_answer_some, client, make_client, web_pool

ROOT = Path(__file__).resolve().parents[2]


def golden_cases() -> list[tuple[str, dict]]:
    from engine.paths import default_rulebase

    out = []
    for path in sorted((default_rulebase() / "tests").glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")).get("cases", []):
            out.append((f"{path.stem}: {case['name']}", case.get("given") or {}))
    return out


CASES = golden_cases()


def library_json(pool, given: dict, lang: str) -> dict:
    """What `zhike classify --format json` renders for this profile (engine/commands/classify.py's path)."""
    from engine.reasoning.inference import infer
    from engine.reasoning.profile import profile_from_dict
    from engine.report.render import render

    profile = profile_from_dict(given, pool.rulebase, "<api>")
    with pool.checkout() as compiled:
        result = infer(compiled, profile)
    return json.loads(render(result, "json", lang))


@pytest.mark.parametrize("name,given", CASES, ids=[c[0] for c in CASES])
def test_classify_is_the_cli_contract_for_every_golden_case(client, web_pool, name, given):
    r = client.post("/api/v1/classify?lang=en", json=given)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == library_json(web_pool, given, "en")


def test_classify_equals_the_command_line_output(client, tmp_path):
    given = {"name": "Ms Li", "facts": {"pace": "fast", "directness": "direct", "focus": "results"},
             "utterances": ["价格太贵了"]}
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(given, ensure_ascii=False), encoding="utf-8")
    from engine.paths import default_rulebase

    cli = subprocess.run([sys.executable, str(ROOT / "cli.py"), "classify", str(profile), "--format", "json",
                          "--lang", "zh", "--rulebase", str(default_rulebase())],
                         capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert cli.returncode == 0, cli.stderr
    api = client.post("/api/v1/classify?lang=zh", json=given)
    assert api.status_code == 200
    assert api.text == cli.stdout


def test_classify_speaks_the_language_asked(client):
    zh = client.post("/api/v1/classify", json={"facts": {"pace": "fast"}}, headers={"accept-language": "zh-CN"})
    en = client.post("/api/v1/classify", json={"facts": {"pace": "fast"}}, headers={"accept-language": "en-US,en"})
    assert zh.json()["lang"] == "zh" and en.json()["lang"] == "en"


def test_malformed_json_is_422_with_the_field_path(client):
    r = client.post("/api/v1/classify", content=b'{"facts": {"pace": ', headers={"content-type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"][0]["type"] == "json_invalid"
    assert body["detail"][0]["loc"][0] == "body"
    assert "Traceback" not in r.text


def test_wrong_shape_is_422_naming_the_field(client):
    r = client.post("/api/v1/classify?lang=en", json={"facts": ["pace"]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "body.facts"
    r = client.post("/api/v1/classify", json={"facts": {}, "utterances": "not a list"})
    assert r.json()["detail"][0]["field"] == "body.utterances"
    r = client.post("/api/v1/classify", json={"fcts": {}})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.fcts"


def test_a_value_that_fits_no_choice_is_422_in_the_users_language(client):
    r = client.post("/api/v1/classify", json={"facts": {"pace": "zzz"}}, headers={"accept-language": "zh"})
    assert r.status_code == 422
    assert "zzz" in r.json()["error"]["message"] and "节奏" in r.json()["error"]["message"]


def test_health_and_facts(client, web_pool):
    h = client.get("/api/v1/health").json()
    rb = web_pool.rulebase
    assert (h["rulebase"], h["version"], h["sha256"]) == (rb.name, rb.version, rb.sha256)
    facts = client.get("/api/v1/facts").json()
    assert [f["id"] for f in facts] == list(rb.facts)
    pace = next(f for f in facts if f["id"] == "pace")
    assert pace["values"] and pace["label"]["zh"] and pace["question"]["en"]


def test_openapi_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/classify", "/api/v1/interviews", "/api/v1/interviews/{interview_id}",
                 "/api/v1/interviews/{interview_id}/answers", "/api/v1/interviews/{interview_id}/back",
                 "/api/v1/interviews/{interview_id}/skip", "/api/v1/interviews/{interview_id}/report",
                 "/api/v1/facts", "/api/v1/health"):
        assert path in spec["paths"], path
    docs = client.get("/api/v1/docs?lang=en")
    assert docs.status_code == 200 and "/api/v1/interviews/{interview_id}/answers" in docs.text


def test_interview_runs_to_the_report(client):
    r = client.post("/api/v1/interviews", json={"lang": "en"})
    assert r.status_code == 201
    state = r.json()
    assert state["status"] == "asking" and state["question"]["fact"] and state["progress"]["number"] == 1
    assert state["question"]["why"]
    interview_id = state["id"]
    state = api_answer_some(client, interview_id, 40)
    assert state["question"] is None and state["status"] in ("confident", "exhausted")
    assert state["answers"] and state["finished"]
    report = client.get(f"/api/v1/interviews/{interview_id}/report?format=json").json()
    assert report["lang"] == "en"
    assert [q["fact"] for q in report["interview"]["questions"]] == list(state["answers"]) + [
        q["fact"] for q in report["interview"]["questions"] if q.get("skipped")]
    assert report["interview"]["status"] == state["status"]
    md = client.get(f"/api/v1/interviews/{interview_id}/report?format=md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    html = client.get(f"/api/v1/interviews/{interview_id}/report?format=html")
    assert html.status_code == 200 and html.text.lstrip().lower().startswith("<!doctype html>")
    assert client.get(f"/api/v1/interviews/{interview_id}/report?format=pdf").status_code == 422


def test_answers_back_skip_and_words(client):
    state = client.post("/api/v1/interviews", json={}).json()
    interview_id = state["id"]
    first = state["question"]["fact"]
    value = state["question"]["choices"][0]["value"]
    state = client.post(f"/api/v1/interviews/{interview_id}/answers", json={"fact": first, "value": value}).json()
    assert state["answers"] == {first: value}
    assert state["progress"]["number"] == 2
    state = client.post(f"/api/v1/interviews/{interview_id}/back").json()
    assert state["answers"] == {} and state["question"]["fact"] == first  # the question taken back comes again
    state = client.post(f"/api/v1/interviews/{interview_id}/skip").json()
    assert state["skipped"] == [first] and state["question"]["fact"] != first
    state = client.post(f"/api/v1/interviews/{interview_id}/answers", json={"utterance": "价格太贵了"}).json()
    state = client.post(f"/api/v1/interviews/{interview_id}/answers", json={"utterance": "再考虑一下"}).json()
    assert state["answers"]["utterances"] == ["价格太贵了", "再考虑一下"]  # more words add to the earlier ones
    again = client.get(f"/api/v1/interviews/{interview_id}").json()
    assert again["answers"] == state["answers"] and again["question"] == state["question"]


def test_answer_errors(client):
    interview_id = client.post("/api/v1/interviews", json={"lang": "en"}).json()["id"]
    url = f"/api/v1/interviews/{interview_id}/answers"
    r = client.post(url, json={"fact": "no_such_fact", "value": 1})
    assert r.status_code == 422 and "no_such_fact" in r.json()["error"]["message"]
    r = client.post(url, json={"fact": "pace", "value": "zzz"})
    assert r.status_code == 422 and "zzz" in r.json()["error"]["message"]
    r = client.post(url, json={"fact": "pace", "value": "fast", "utterance": "hi"})
    assert r.status_code == 422
    r = client.post(url, json={})
    assert r.status_code == 422
    r = client.post(url, json={"fact": "pace", "colour": "red"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.colour"
    assert client.get(f"/api/v1/interviews/{interview_id}").json()["answers"] == {}  # nothing half-saved


def test_unknown_goal_is_422_and_all_goals_work(client):
    r = client.post("/api/v1/interviews", json={"goals": ["no_such_goal"], "lang": "en"})
    assert r.status_code == 422 and "no_such_goal" in r.json()["error"]["message"]
    assert client.post("/api/v1/interviews", json={"goals": "all"}).status_code == 201
    assert client.post("/api/v1/interviews", json={"goals": ["social_style"]}).status_code == 201


def test_unknown_interview_is_404_everywhere(client):
    missing = "A" * 32
    for method, path in (("get", f"/api/v1/interviews/{missing}"), ("post", f"/api/v1/interviews/{missing}/back"),
                         ("post", f"/api/v1/interviews/{missing}/skip"),
                         ("get", f"/api/v1/interviews/{missing}/report"),
                         ("get", "/api/v1/interviews/not-an-id"), ("get", "/api/v1/nothing-here")):
        r = getattr(client, method)(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["status"] == 404
    r = client.post(f"/api/v1/interviews/{missing}/answers", json={"utterance": "x"})
    assert r.status_code == 404


def test_method_not_allowed_is_405_json(client):
    r = client.delete("/api/v1/health")
    assert r.status_code == 405 and r.json()["error"]["status"] == 405


def test_a_changed_rulebase_resumes_like_ask_resume(client):
    """A stored interview made with another rulebase: its answers are replayed, what no longer exists is
    left out and said (as `zhike ask --resume` does)."""
    state = client.post("/api/v1/interviews", json={"lang": "en"}).json()
    interview_id = state["id"]
    state = api_answer_some(client, interview_id, 2)
    kept = dict(state["answers"])
    web = client.app.state.web
    row = web.store.get(interview_id)
    doc = row.session
    doc["rulebase"]["sha256"] = "0" * 64
    doc["rulebase"]["version"] = "0.0.1"
    doc["answers"]["a_question_removed_since"] = "yes"
    web.store.save(interview_id, doc, "0" * 64, None)
    state = client.get(f"/api/v1/interviews/{interview_id}").json()
    assert any("0.0.1" in n for n in state["notices"])
    assert any("a_question_removed_since" in n for n in state["notices"])
    assert state["answers"] == kept
    page = client.get(f"/i/{interview_id}?lang=en")
    assert "a_question_removed_since" in page.text  # said on the page too
    stored = web.store.get(interview_id).session
    assert stored["rulebase"]["sha256"] == web.pool.rulebase.sha256
    assert stored["answers"]["a_question_removed_since"] == "yes"  # the rep's answer is kept in the record


def test_an_interview_rebuilt_from_its_row_goes_on_as_the_one_kept_in_memory(client):
    """What a restarted server (or another process) sees: the same next question, number and answers."""
    interview_id = client.post("/api/v1/interviews", json={"lang": "en"}).json()["id"]
    kept = api_answer_some(client, interview_id, 5)
    service = client.app.state.web.interviews
    assert interview_id in service.kept()
    service.forget_kept()
    rebuilt = client.get(f"/api/v1/interviews/{interview_id}").json()
    for key in ("question", "progress", "answers", "skipped", "leading", "status"):
        assert rebuilt[key] == kept[key], key


def test_a_kept_interview_changed_elsewhere_is_read_again(client):
    interview_id = client.post("/api/v1/interviews", json={}).json()["id"]
    api_answer_some(client, interview_id, 2)
    web = client.app.state.web
    row = web.store.get(interview_id)
    doc = row.session
    first = next(iter(doc["answers"]))
    doc["answers"] = {first: doc["answers"][first]}
    doc["asked"], doc["interview"] = [first], doc["interview"][:1]
    web.store.save(interview_id, doc, row.rulebase_sha256, None)  # another process wrote the row
    assert list(client.get(f"/api/v1/interviews/{interview_id}").json()["answers"]) == [first]


def test_the_pool_never_gives_one_compiled_rulebase_to_two_threads(web_pool):
    import threading
    import time

    from engine.web.pool import RulebasePool

    pool = RulebasePool(web_pool.rulebase, 3)
    in_use: set[int] = set()
    lock = threading.Lock()
    clashes: list[int] = []
    peak = [0]

    def work() -> None:
        for _ in range(5):
            with pool.checkout() as compiled:
                with lock:
                    if id(compiled) in in_use:
                        clashes.append(id(compiled))
                    in_use.add(id(compiled))
                    peak[0] = max(peak[0], len(in_use))
                time.sleep(0.005)
                with lock:
                    in_use.discard(id(compiled))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not clashes
        assert pool.compiled_count <= 3 and peak[0] <= 3
        assert peak[0] >= 2  # not serialised behind one rulebase
    finally:
        pool.close()
