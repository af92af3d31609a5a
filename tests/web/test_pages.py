"""The pages of `zhike serve`, in process, driven as a browser without JavaScript would: forms and links.

Every page in zh has no English (besides the switch to English and brand names of the
rulebase); customer words with markup or template syntax show as text; the batch page
gives back every row.
"""
# ruff: noqa: F401, F811 -- pytest fixtures come in by import (tests/web/conftest.py is the browser tests')
from __future__ import annotations

import re
import time

import pytest

from .conftest_app import (
    api_answer_some,
    client,
    csrf_of,
    make_client,
    start_interview,
    visible_text,
    web_pool,
)

# Latin words a Chinese page may show: the switch to English, and names the rulebase itself uses in Chinese text
# (acronyms in capitals, such as TOPK or M·A·N, are names too)
ALLOWED_LATIN = {"English", "B2B", "csv", "xlsx", "jsonl", "OpenAPI", "Bearer"}


def _rulebase_latin() -> set[str]:
    """Latin words the rulebase's own Chinese text uses (a seed's term, such as FABC's "Convenience"):
    knowledge the trainers wrote, not words of the interface."""
    from engine.paths import default_rulebase

    words: set[str] = set()
    for path in default_rulebase().rglob("*.yaml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"[\u4e00-\u9fff]", line):
                words.update(re.findall(r"[A-Za-z][A-Za-z0-9']*", line.split("#")[0]))
    return words


RULEBASE_LATIN = _rulebase_latin()


def english_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9']*", text)
            if w not in ALLOWED_LATIN and w not in RULEBASE_LATIN and not (w.isupper() and len(w) <= 5)}


def question_fact(html: str) -> str:
    return re.search(r'name="fact" value="([^"]+)"', html).group(1)


def answer_on_page(c, interview_id: str) -> str:
    """Answer the question shown, as a rep would tap: the first choice, or typed words or a number."""
    html = c.get(f"/i/{interview_id}").text
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    fact = question_fact(html)
    if 'data-testid="utterance-input"' in html:
        data = {"csrf": token, "fact": fact, "text": "价格太贵了\n我再考虑考虑"}
    elif 'data-testid="choice"' in html:
        data = {"csrf": token, "fact": fact, "choice": "1"}
    else:
        data = {"csrf": token, "fact": fact, "text": "5"}
    r = c.post(f"/i/{interview_id}/answer", data=data)
    assert r.status_code == 303, r.text
    return fact


def test_start_page_has_every_entry(client):
    html = client.get("/?lang=zh").text
    for hook in ("start-new", "resume-input", "lang-switch"):
        assert f'data-testid="{hook}"' in html
    assert 'action="/classify"' in html and 'action="/interviews"' in html


def test_interview_through_the_pages(client):
    interview_id = start_interview(client)
    html = client.get(f"/i/{interview_id}").text
    for hook in ("question", "choice", "why", "why-text", "back", "skip", "report-now", "progress", "leading"):
        assert f'data-testid="{hook}"' in html, hook
    assert "第 1 题" in html and "还剩约" in html
    first = answer_on_page(client, interview_id)
    html = client.get(f"/i/{interview_id}").text
    assert "第 2 题" in html and question_fact(html) != first
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    assert client.post(f"/i/{interview_id}/back", data={"csrf": token}).status_code == 303
    html = client.get(f"/i/{interview_id}").text
    assert question_fact(html) == first and "第 1 题" in html  # back: the same question, the same number
    assert client.post(f"/i/{interview_id}/skip", data={"csrf": token, "fact": first}).status_code == 303
    assert client.get(f"/api/v1/interviews/{interview_id}").json()["skipped"] == [first]
    for _ in range(4):
        answer_on_page(client, interview_id)
    report = client.get(f"/i/{interview_id}/report")
    assert report.status_code == 200
    for hook in ("report", "change-answer", "download-md", "download-json", "download-html", "start-new"):
        assert f'data-testid="{hook}"' in report.text, hook


def test_a_finished_interview_goes_to_the_report(client):
    interview_id = start_interview(client)
    state = api_answer_some(client, interview_id, 40)
    assert state["question"] is None
    r = client.get(f"/i/{interview_id}")
    assert r.status_code == 303 and r.headers["location"] == f"/i/{interview_id}/report"
    report = client.get(f"/i/{interview_id}/report").text
    assert 'class="notice done"' in report and 'data-testid="report"' in report
    assert f'href="/i/{interview_id}"' not in report  # nothing left to go on with


def test_a_bad_typed_answer_says_why_and_keeps_the_question(client):
    interview_id = start_interview(client)
    html = client.get(f"/i/{interview_id}").text
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    fact = question_fact(html)
    r = client.post(f"/i/{interview_id}/answer", data={"csrf": token, "fact": fact, "text": "完全不相干的东西"})
    assert r.status_code == 422 and 'data-testid="error"' in r.text and 'data-testid="question"' in r.text
    assert client.get(f"/api/v1/interviews/{interview_id}").json()["answers"] == {}


def test_change_an_answer(client):
    interview_id = start_interview(client)
    first = answer_on_page(client, interview_id)
    answer_on_page(client, interview_id)
    change = client.get(f"/i/{interview_id}/change").text
    assert f'href="/i/{interview_id}?change={first}"' in change
    html = client.get(f"/i/{interview_id}?change={first}").text
    assert question_fact(html) == first and "正在修改答案" in html
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    r = client.post(f"/i/{interview_id}/answer", data={"csrf": token, "fact": first, "choice": "2",
                                                      "changing": "1"})
    assert r.status_code == 303
    answers = client.get(f"/api/v1/interviews/{interview_id}").json()["answers"]
    facts = {f["id"]: f for f in client.get("/api/v1/facts").json()}
    assert answers[first] == facts[first]["values"][1]


def test_downloads(client):
    interview_id = start_interview(client)
    answer_on_page(client, interview_id)
    md = client.get(f"/i/{interview_id}/report.md")
    assert md.status_code == 200 and "attachment" in md.headers["content-disposition"]
    js = client.get(f"/i/{interview_id}/report.json").json()
    assert js["interview"]["questions"] and js["rulebase"]["sha256"]
    html = client.get(f"/i/{interview_id}/report.html")
    assert html.headers["content-type"].startswith("text/html")
    assert client.get(f"/i/{interview_id}/report.exe").status_code == 404


def test_resume_by_link(client):
    interview_id = start_interview(client)
    token = csrf_of(client)
    r = client.post("/resume", data={"csrf": token, "link": f"http://phone.example/i/{interview_id}?lang=zh"})
    assert r.status_code == 303 and r.headers["location"] == f"/i/{interview_id}"
    r = client.post("/resume", data={"csrf": token, "link": "B" * 32})
    assert r.status_code == 404 and 'data-testid="error"' in r.text


def test_paste_a_profile(client):
    token = csrf_of(client)
    r = client.post("/classify?lang=zh", data={"csrf": token, "profile": "facts:\n  dominance: high\n  self_control: high\n"})
    assert r.status_code == 200 and 'data-testid="report"' in r.text and "老虎" in r.text
    bad = client.post("/classify?lang=zh", data={"csrf": token, "profile": "facts:\n  pace: zzz\n"})
    assert bad.status_code == 422 and "zzz" in bad.text and 'data-testid="error"' in bad.text
    upload = client.post("/classify", data={"csrf": token},
                         files={"profile_file": ("p.json", b'{"facts": {"dominance": "high", "self_control": "high"}}',
                                                 "application/json")})
    assert upload.status_code == 200 and 'data-testid="report"' in upload.text


def test_language_switch_and_accept_language(make_client):
    c = make_client()
    assert "新的提问" in c.get("/").text  # default: zh
    en = c.get("/?lang=en")
    assert "New interview" in en.text and "zhike_lang=en" in en.headers["set-cookie"]
    assert "New interview" in c.get("/").text  # remembered
    other = make_client()
    assert "New interview" in other.get("/", headers={"accept-language": "en-GB,en;q=0.9,zh;q=0.5"}).text
    assert "新的提问" in other.get("/", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}).text


def test_every_page_in_zh_has_no_english(client, web_pool):
    interview_id = start_interview(client)
    answer_on_page(client, interview_id)
    typology = next(iter(web_pool.rulebase.typologies))
    pages = ["/", f"/i/{interview_id}", f"/i/{interview_id}/why", f"/i/{interview_id}/report",
             f"/i/{interview_id}/change", "/playbook", f"/playbook/{typology}", "/batch", "/i/" + "C" * 32,
             "/playbook/no-such-typology"]
    for path in pages:
        r = client.get(path + ("&" if "?" in path else "?") + "lang=zh")
        words = english_words(visible_text(r.text))
        assert not words, f"{path}: {sorted(words)[:20]}"


def test_every_page_in_en_has_no_chinese_interface_words(client):
    interview_id = start_interview(client, lang="en")
    html = client.get(f"/i/{interview_id}?lang=en").text
    text = visible_text(html).replace("中文", "")  # the switch to Chinese says so in Chinese
    assert "Question 1" in text and not re.search(r"[\u4e00-\u9fff]", text)


@pytest.mark.parametrize("words", ["<script>alert('x')</script>", "{{ 7*7 }}", "{% for x in range(3) %}loop{% endfor %}",
                                   "<img src=x onerror=alert(1)>"])
def test_customer_words_show_as_text(client, words):
    interview_id = start_interview(client)
    api_answer_some(client, interview_id, 3, utterance=words)
    assert client.get(f"/api/v1/interviews/{interview_id}").json()["answers"]["utterances"] == [words]
    for path in (f"/i/{interview_id}/report", f"/i/{interview_id}/change", f"/i/{interview_id}/report.html"):
        html = client.get(path).text
        assert words not in html or "<" not in words, path  # markup never goes out raw
        assert "<script>alert" not in html and "<img src=x" not in html
        if "{" in words:
            assert words in visible_text(html), path  # template syntax shown as typed, never evaluated
            assert "loop loop" not in html and ">49<" not in html


def test_batch_upload_classifies_every_row(client):
    token = csrf_of(client, "/batch")
    rows = "name,pace,directness,预算\n甲,fast,direct,10\n乙,slow,indirect,20\n丙,nonsense-value,direct,x\n"
    r = client.post("/batch?lang=en", data={"csrf": token},
                    files={"file": ("prospects.csv", rows.encode("utf-8"), "text/csv")})
    assert r.status_code == 303
    job = r.headers["location"]
    page = client.get(job).text
    assert 'data-testid="batch-mapping"' in page and "pace" in page
    for _ in range(240):
        page = client.get(job).text
        if 'data-state="running"' not in page:
            break
        time.sleep(0.5)
    assert 'data-state="done"' in page, page
    result = client.get(job + "/result")
    assert result.status_code == 200
    out_rows = [ln for ln in result.content.decode("utf-8-sig").splitlines()[1:] if ln.strip()]
    rejects = client.get(job + "/rejects")
    rejected = ([ln for ln in rejects.content.decode("utf-8-sig").splitlines()[1:] if ln.strip()]
                if rejects.status_code == 200 else [])
    assert len(out_rows) + len(rejected) == 3  # in = classified + rejected
    assert "甲" in result.content.decode("utf-8-sig")


def test_batch_refuses_what_it_cannot_read(client):
    token = csrf_of(client, "/batch")
    r = client.post("/batch?lang=en", data={"csrf": token}, files={"file": ("notes.docx", b"PK\x03\x04", "x")})
    assert r.status_code == 422 and "CSV" in r.text
    r = client.post("/batch?lang=en", data={"csrf": token})
    assert r.status_code == 422
    assert client.get("/batch/" + "D" * 32).status_code == 404


def test_playbook_by_typology(client, web_pool):
    index = client.get("/playbook?lang=zh").text
    rb = web_pool.rulebase
    for tid in rb.typologies:
        assert f'href="/playbook/{tid}"' in index
    tid, t = next(iter(rb.typologies.items()))
    page = client.get(f"/playbook/{tid}?lang=zh").text
    for c in t.classes.values():
        assert c.label.zh in page
    assert "note" not in page.lower() or all((c.note is None) or (c.note.zh not in page) for c in t.classes.values())
