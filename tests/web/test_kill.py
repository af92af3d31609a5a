"""A server killed with SIGKILL mid-interview loses at most the answer being submitted.

A real `zhike serve` process is given an interview through the API, a few answers at a time; then,
with one more answer on its way, it is killed (no clean-up runs), started again on the same --data,
and the interview is read back: every answer saved before the kill is there, unchanged, the answer
in flight is either wholly there or wholly absent, and the interview goes on from where it was.
"""
from __future__ import annotations

import random
import threading

import httpx

API = "/api/v1"
SAID = "XX家同类产品便宜不少,再降30%我们考虑"


def a_valid_answer(fact: dict, rng: random.Random) -> dict:
    """The body of an answer to the question about `fact` (an entry of GET /api/v1/facts)."""
    if fact["id"] == "utterances":
        return {"utterance": SAID}
    kind, values = fact["type"], fact.get("values") or []
    if kind == "bool":
        return {"fact": fact["id"], "value": rng.choice([True, False])}
    if kind == "enum":
        return {"fact": fact["id"], "value": rng.choice(values)}
    if kind == "list":
        return {"fact": fact["id"], "value": rng.sample(values, k=min(len(values), rng.randint(1, 2)))}
    lo, hi = fact.get("min") or 0, fact.get("max") or 100
    return {"fact": fact["id"], "value": rng.randint(int(lo), int(min(hi, lo + 20)))}


def answers_of(doc: dict) -> dict:
    assert "answers" in doc, f"GET {API}/interviews/ID shows no answers: {sorted(doc)}"
    return doc["answers"]


def test_sigkill_mid_interview_keeps_every_saved_answer(start_server, tmp_path):
    data = tmp_path / "data"
    server = start_server(data)
    client = httpx.Client(base_url=server.url, timeout=30)
    facts = {f["id"]: f for f in client.get(f"{API}/facts").raise_for_status().json()}
    rng = random.Random(13)

    doc = client.post(f"{API}/interviews", json={"lang": "zh"}).raise_for_status().json()
    interview_id = doc["id"]
    sent = []
    while len(sent) < 4:
        assert doc["question"], f"the interview ended after {len(sent)} answers"
        body = a_valid_answer(facts[doc["question"]["fact"]], rng)
        doc = client.post(f"{API}/interviews/{interview_id}/answers", json=body).raise_for_status().json()
        sent.append(body)
    saved = client.get(f"{API}/interviews/{interview_id}").raise_for_status().json()
    before = answers_of(saved)
    for body in sent:  # what was sent is what was saved
        if "utterance" in body:
            assert SAID in before.get("utterances", []), before
        else:
            assert before.get(body["fact"]) == body["value"], (body, before)
    report_before = client.get(f"{API}/interviews/{interview_id}/report", params={"format": "json"}).json()

    # One more answer on its way, and the process dies without a chance to clean up.
    in_flight = a_valid_answer(facts[saved["question"]["fact"]], rng)
    started = threading.Event()

    def submit() -> None:
        started.set()
        try:
            httpx.post(f"{server.url}{API}/interviews/{interview_id}/answers", json=in_flight, timeout=10)
        except httpx.HTTPError:
            pass  # the server died under it: expected

    sender = threading.Thread(target=submit)
    sender.start()
    started.wait()
    server.kill()
    sender.join(timeout=15)
    client.close()

    again = start_server(data)
    with httpx.Client(base_url=again.url, timeout=30) as client:
        after_doc = client.get(f"{API}/interviews/{interview_id}").raise_for_status().json()
        after = answers_of(after_doc)
        extra = {k: v for k, v in after.items() if k not in before}
        for fact, value in before.items():
            if fact == "utterances":
                assert after[fact][:len(value)] == value
            else:
                assert after.get(fact) == value, f"{fact}: {value!r} before the kill, {after.get(fact)!r} after"
        # The answer in flight: all of it or none of it.
        if "fact" in in_flight:
            assert extra in ({}, {in_flight["fact"]: in_flight["value"]}), extra
        if not extra and after == before:
            assert after_doc["question"]["fact"] == saved["question"]["fact"], "resumed at another question"
            report_after = client.get(f"{API}/interviews/{interview_id}/report", params={"format": "json"}).json()
            assert report_after["conclusions"] == report_before["conclusions"]
        # And it goes on.
        question = after_doc["question"]
        if question:
            body = a_valid_answer(facts[question["fact"]], rng)
            client.post(f"{API}/interviews/{interview_id}/answers", json=body).raise_for_status()
            assert len(answers_of(client.get(f"{API}/interviews/{interview_id}").json())) >= len(after)
    assert again.stop() == 0, "SIGTERM should stop the server cleanly with exit code 0"
