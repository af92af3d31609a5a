"""`zhike serve` in a real browser (Debian's Chromium), as a rep on a phone and at a desk would use it.

At a phone size (390×844, touch) and a desktop size (1280×900): start an interview in Chinese, answer
by tapping choices and by typing the customer's words, open "why", go back, get the report (with its
next best action), switch to English, resume the interview from its URL in a new browser context
with every answer intact; and, as sales ops, upload a small CSV on the batch page and download a
result that has every input row. On every page: no horizontal scrolling at 390 px, no console error
(a Content-Security-Policy violation is one), and no word of the other language in what is shown.
Every page is screenshotted into the test's tmp_path; with ZHIKE_SCREENSHOTS=DIR (docs/img) the phone
and desktop interview and result pages are also copied there for the README.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
WORDS = "XX家同类产品便宜不少,再降30%我们考虑"  # what the customer said, typed into the text box
MAX_STEPS = 30  # answers before giving up on a next best action (bench_ask: median 12 with default goals)
WAIT_MS = 15_000
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’-]*")
URLISH = re.compile(r"https?://\S+|/[\w/.?=&%-]+|[A-Za-z0-9_-]{32,}|[\w.-]+\.(?:csv|xlsx|jsonl|json|md|html)\b")
BRAND = {"zhike", "知客"}
pytestmark = pytest.mark.browser
README_PAGES = {"interview-2": "interview", "report": "report"}  # page -> its picture in docs/img/

# What the rep sees, not what the markup holds: visible text nodes (outside the language switch, whose
# job is to name the other language), visible placeholders and button values, and the page title.
VISIBLE_TEXT_JS = """() => {
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || el.closest('[data-testid="lang-switch"], script, style, noscript, template')) continue;
    if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const t = walker.currentNode.textContent.trim();
    if (t) out.push(t);
  }
  for (const el of document.querySelectorAll('input, textarea, button')) {
    if (el.closest('[data-testid="lang-switch"]') || !el.checkVisibility()) continue;
    if (el.placeholder) out.push(el.placeholder);
    if (['submit', 'button', 'reset'].includes(el.type) && el.tagName === 'INPUT' && el.value) out.push(el.value);
  }
  return out.join('\\n');
}"""


# -- what counts as English in a Chinese page ------------------------------------------------------------
@cache
def zh_latin_allowed() -> frozenset[str]:
    """Latin words a Chinese page may show: the brand, ids, and words the Chinese text itself uses.

    The Chinese catalogue and the Chinese side of the rulebase are written by translators and trainers;
    where they keep a Latin word ("CSV", "MAN" in 有购买能力(M)), a page quoting them is still Chinese.
    Ids are allowed too (the contract allows them): a token with an underscore or a digit is an id, not
    an English word (english_in); an id that reads as a word ("tiger", "fast") is not allowed.
    """
    from babel.messages.pofile import read_po

    words: set[str] = {w.lower() for w in BRAND}
    with open(ROOT / "engine/i18n/locale/zh/LC_MESSAGES/zhike.po", "rb") as f:
        for message in read_po(f):
            for text in message.string if isinstance(message.string, tuple | list) else [message.string]:
                words |= {w.lower() for w in LATIN_WORD.findall(text or "")}

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key == "zh":
            words.update(w.lower() for w in LATIN_WORD.findall(node))

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the rulebase is ~1 MB of YAML
    for path in (ROOT / "rulebase").rglob("*.yaml"):
        walk(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))
    return frozenset(words)


def english_in(text: str, customer_words: list[str]) -> list[str]:
    for said in customer_words:  # the customer's own words are quoted as said
        text = text.replace(said, " ")
    text = URLISH.sub(" ", text)
    allowed = zh_latin_allowed()
    return sorted({w for w in LATIN_WORD.findall(text)
                   if w.lower() not in allowed and w.strip("'’-").lower() not in allowed
                   and not re.search(r"[_0-9]", w)})


def chinese_in(text: str, customer_words: list[str]) -> list[str]:
    for said in customer_words:  # the customer's own words are quoted as said, in any language
        for clause in [said, *re.split(r"[,,。;;!!??]", said)]:
            if clause:
                text = text.replace(clause, " ")
    for brand in BRAND:
        text = text.replace(brand, " ")
    return sorted({line.strip() for line in text.splitlines() if CJK.search(line)})


# -- one browser tab, checked on every page ------------------------------------------------------------
class Tab:
    def __init__(self, browser, base: str, device: str, out: Path, *, locale: str = "zh-CN") -> None:
        self.base, self.device, self.out = base, device, out
        self.context = browser.new_context(locale=locale, **DEVICES[device])
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text} ({m.location.get('url')})")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.policy = ""  # the Content-Security-Policy of the page shown (no policy, no violation to see)
        self.page.on("response", self._document)
        self.shots: dict[str, Path] = {}
        self.customer_words: list[str] = []

    def _document(self, response) -> None:
        if response.request.is_navigation_request() and response.status == 200:
            self.policy = response.headers.get("content-security-policy", "")

    def close(self) -> None:
        self.context.close()

    def goto(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, f"GET {path}: {response and response.status}"

    def testid(self, name: str):
        return self.page.get_by_test_id(name)

    def question(self) -> str:
        """The question shown ("" if none), read again if a navigation is under way."""
        return self.state()[2]

    def state(self) -> tuple[str, float, str]:
        """Where the tab is: its URL, when the document was loaded, and the question shown."""
        for _ in range(40):
            try:
                q = self.testid("question")
                loaded = self.page.evaluate("performance.timeOrigin")
                return self.page.url, loaded, (q.first.inner_text(timeout=200) if q.count() else "")
            except Exception:  # the page navigated between the reads
                time.sleep(0.05)
        return self.page.url, 0.0, ""

    def act(self, action: Callable[[], None]) -> None:
        """Do something that submits a form (a navigation, or a swap by the page's own script) and wait until
        the page shows something else."""
        before = self.state()
        action()
        deadline = time.monotonic() + WAIT_MS / 1000
        while self.state() == before:
            assert time.monotonic() < deadline, f"nothing changed after the action on {before[0]}"
            time.sleep(0.05)
        self.page.wait_for_load_state("load")

    def press(self, locator) -> None:
        """A tap on a phone, a click on a desktop."""
        if DEVICES[self.device].get("has_touch"):
            locator.tap()
        else:
            locator.click()

    def check(self, name: str, lang: str) -> str:
        """Screenshot the page and check what every page must satisfy; returns its visible text."""
        self.page.wait_for_load_state("load")
        shot = self.out / f"{self.device}-{name}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        self.shots[name] = shot
        if name in README_PAGES:  # what the screen shows, as the README's picture of it
            self.page.screenshot(path=str(self.out / f"{self.device}-{name}-screen.png"))
        if self.device == "phone":
            width = self.page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 390, f"{name}: the page scrolls sideways on a 390 px phone (scrollWidth {width})"
        text = self.page.evaluate(VISIBLE_TEXT_JS)
        if lang == "zh":
            found = english_in(text, self.customer_words)
            assert not found, f"{name}: English words on a Chinese page: {found}"
            assert CJK.search(text), f"{name}: no Chinese on a Chinese page"
        else:
            found = chinese_in(text, self.customer_words)
            assert not found, f"{name}: Chinese on an English page: {found}"
        assert "script-src 'self'" in self.policy and "unsafe-inline" not in self.policy.split("script-src")[1].split(
            ";")[0], f"{name}: the page has no strict Content-Security-Policy: {self.policy!r}"
        assert not self.errors, f"{name}: {self.errors}"
        return text


@pytest.fixture(params=list(DEVICES))
def device(request) -> str:
    return request.param


@pytest.fixture
def tab_factory(browser, live_server, tmp_path):
    tabs: list[Tab] = []

    def make(device: str, locale: str = "zh-CN") -> Tab:
        tab = Tab(browser, live_server.url, device, tmp_path, locale=locale)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.close()
    target = os.environ.get("ZHIKE_SCREENSHOTS")
    if target:  # the README's pictures: the phone and desktop interview and result pages, in Chinese
        Path(target).mkdir(parents=True, exist_ok=True)
        for tab in tabs:
            for name, picture in README_PAGES.items():
                shot = tab.out / f"{tab.device}-{name}-screen.png"
                if name in tab.shots and shot.exists():
                    shutil.copyfile(shot, Path(target) / f"{picture}-{tab.device}.png")


# -- the interview -----------------------------------------------------------------------------------------
def answer_by_tapping(tab: Tab, which: int = 0) -> None:
    choices = tab.testid("choice")
    n = choices.count()
    assert n >= 2, "a question with choices shows at least two"
    for i in range(n):
        box = choices.nth(i).bounding_box()
        assert box is not None and box["height"] >= 44, f"choice {i} is {box and box['height']} px high (< 44)"
    choice = choices.nth(which % n)
    submits = choice.evaluate("e => e.matches('button, input[type=submit]') && (e.type || 'submit') === 'submit'")
    if submits:
        tab.act(lambda: tab.press(choice))
    else:  # a label around a radio or checkbox: choose it, then send the form
        tab.press(choice)
        form_submit = tab.page.locator("form:has([data-testid=choice]) [data-testid=submit]")
        button = form_submit.first if form_submit.count() else tab.testid("submit").first
        tab.act(lambda: tab.press(button))


def answer_by_typing(tab: Tab, words: str) -> None:
    box = tab.testid("utterance-input").first
    box.fill(words)
    tab.customer_words.append(words)
    form_submit = tab.page.locator("form:has([data-testid=utterance-input]) [data-testid=submit]")
    button = form_submit.first if form_submit.count() else tab.testid("submit").first
    tab.act(lambda: tab.press(button))


def switch_to(tab: Tab, lang: str) -> None:
    """Use the page's language switch: a link, a button, or a menu of languages."""
    switch = tab.testid("lang-switch").first
    kind = switch.evaluate("e => e.tagName")
    with tab.page.expect_navigation():
        if kind == "SELECT":
            switch.select_option(lang)
        elif kind in ("A", "BUTTON"):
            tab.press(switch)
        else:
            tab.press(switch.locator(f"a[href*='lang={lang}'], button[value='{lang}'], [hreflang='{lang}']").first)
    tab.page.wait_for_load_state("load")
    assert tab.page.evaluate("document.documentElement.lang").startswith(lang), "the page is not in that language"


def has_next_best_action(base: str, interview_id: str) -> bool | None:
    """Whether the interview's report has a next best action yet (None: the API cannot tell)."""
    try:
        r = httpx.get(f"{base}/api/v1/interviews/{interview_id}/report", params={"format": "json"}, timeout=10)
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    return bool(r.json().get("next_best_action"))


def run_interview(tab: Tab) -> tuple[str, list[tuple[str, str]]]:
    """Answer until the report has a next best action; returns the id and (question, how answered) pairs."""
    tab.goto("/")
    tab.check("start", "zh")
    tab.act(lambda: tab.press(tab.testid("start-new").first))
    match = re.search(r"/i/([A-Za-z0-9_-]+)", tab.page.url)
    assert match, f"starting an interview led to {tab.page.url}"
    interview_id = match.group(1)
    tab.check("interview", "zh")
    assert tab.testid("progress").first.is_visible()
    answered: list[tuple[str, str]] = []
    for step in range(MAX_STEPS):
        question = tab.question()
        if not question:
            break  # finished: the page moved on to the report
        typed = sum(1 for _, how in answered if how == "typed")
        box = tab.testid("utterance-input")
        if tab.testid("choice").count() and (typed or step < 1 or not box.count()):
            answer_by_tapping(tab)
            answered.append((question, "tapped"))
        elif box.count() and box.first.is_visible():
            answer_by_typing(tab, WORDS if not typed else "我们再考虑考虑")
            answered.append((question, "typed"))
        else:
            tab.act(lambda: tab.press(tab.testid("skip").first))
            answered.append((question, "skipped"))
        if step == 1:
            tab.check("interview-2", "zh")
        if has_next_best_action(tab.base, interview_id) and {"tapped", "typed"} <= {h for _, h in answered}:
            break
    hows = {h for _, h in answered}
    assert {"tapped", "typed"} <= hows, f"the interview never offered both a choice and a text box: {answered}"
    return interview_id, answered


def test_interview_in_the_browser(tab_factory, device, live_server):
    tab = tab_factory(device)
    interview_id, answered = run_interview(tab)
    interview = f"/i/{interview_id}"
    if not tab.question():  # it finished by itself; come back to the last question through "back" below
        tab.goto(interview)

    # Why is this asked: an expandable block or a page of its own.
    if tab.testid("question").count():
        question_before = tab.question()
        tab.press(tab.testid("why").first)
        tab.testid("why-text").first.wait_for(state="visible")
        assert len(tab.testid("why-text").first.inner_text().strip()) > 5
        tab.check("why", "zh")
        if tab.page.url.rstrip("/").endswith("/why"):
            tab.goto(interview)
        assert tab.question() == question_before

    # Back: the last answered question is asked again; answer it the same way again.
    last_question, how = answered[-1]
    tab.act(lambda: tab.press(tab.testid("back").first))
    assert tab.question() == last_question, "back did not return to the last answered question"
    tab.check("back", "zh")
    if how == "typed":
        tab.customer_words.pop()
        answer_by_typing(tab, WORDS)
    elif how == "tapped":
        answer_by_tapping(tab)
    else:
        tab.act(lambda: tab.press(tab.testid("skip").first))

    # The report, with its next best action.
    if tab.testid("report-now").count():
        tab.act(lambda: tab.press(tab.testid("report-now").first))
    tab.testid("report").first.wait_for(state="visible")
    nba = tab.testid("nba").first
    nba.wait_for(state="visible")
    nba_zh = nba.inner_text().strip()
    assert nba_zh and CJK.search(nba_zh)
    tab.check("report", "zh")
    for name in ("download-md", "download-json", "download-html"):
        href = tab.testid(name).first.get_attribute("href")
        got = tab.context.request.get(tab.base + href if href.startswith("/") else href)
        assert got.status == 200 and got.body(), f"{name}: {got.status}"
    report_url = tab.page.url

    # Change an answer: every answer listed (kept to compare after resuming elsewhere).
    tab.act(lambda: tab.press(tab.testid("change-answer").first))
    listed_zh = tab.check("change", "zh")
    for question, how_answered in answered:
        if how_answered != "skipped":
            assert question.strip()[:12] in listed_zh, f"answer to {question!r} not listed on the change page"

    # English: the switch on the page, then every page in English.
    tab.page.goto(report_url)
    switch_to(tab, "en")
    tab.testid("nba").first.wait_for(state="visible")
    assert tab.testid("nba").first.inner_text().strip() != nba_zh
    tab.check("report-en", "en")
    tab.goto(interview)
    tab.check("interview-en", "en")

    # The interview's URL on another device: a new browser context, no cookies, same answers.
    other = tab_factory(device)
    other.customer_words = tab.customer_words
    other.goto(interview + "/change")
    assert other.check("resumed-change", "zh") == listed_zh, "the answers differ on another device"
    other.goto(interview)
    other.check("resumed", "zh")
    other.goto(interview + "/report")
    assert other.testid("nba").first.inner_text().strip() == nba_zh
    other.check("resumed-report", "zh")


# -- batch ------------------------------------------------------------------------------------------------
def prospects_csv() -> tuple[bytes, list[dict[str, str]]]:
    rows = [{"客户": "张三", "节奏": "快", "有购买能力(M)": "是", "客户原话": "太贵了"},
            {"客户": "李四", "节奏": "从容、慢", "有购买能力(M)": "否", "客户原话": "我们再考虑考虑"},
            {"客户": "王五", "节奏": "快", "有购买能力(M)": "是", "客户原话": WORDS},
            {"客户": "赵六", "节奏": "", "有购买能力(M)": "", "客户原话": "留个电话,有需要再联系"}]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8"), rows


def test_batch_in_the_browser(tab_factory, device):
    tab = tab_factory(device)
    tab.goto("/batch")
    tab.check("batch-start", "zh")
    data, rows = prospects_csv()
    tab.testid("upload-input").first.set_input_files(
        files=[{"name": "客户名单.csv", "mimeType": "text/csv", "buffer": data}])
    tab.act(lambda: tab.press(tab.testid("upload-submit").first))
    assert re.search(r"/batch/[A-Za-z0-9_-]+", tab.page.url), tab.page.url
    tab.testid("batch-mapping").first.wait_for(state="visible")
    mapping = tab.testid("batch-mapping").first.inner_text()
    assert "节奏" in mapping
    deadline = time.monotonic() + 60
    while not tab.testid("batch-download").count():  # progress: the page refreshes itself or is reloaded
        assert time.monotonic() < deadline, "the batch never finished"
        time.sleep(0.3)
        if not tab.testid("batch-download").count():
            tab.page.reload()
    tab.check("batch-done", "zh")
    href = tab.testid("batch-download").first.get_attribute("href")
    got = tab.context.request.get(tab.base + href if href.startswith("/") else href)
    assert got.status == 200
    out = list(csv.DictReader(io.StringIO(got.body().decode("utf-8-sig"))))
    assert [r["客户"] for r in out] == [r["客户"] for r in rows], "the result lost or reordered input rows"
    for given, came in zip(rows, out, strict=True):
        assert all(came[k] == v for k, v in given.items()), f"an input cell changed: {given} -> {came}"
    added = [k for k in out[0] if k not in rows[0]]
    assert added, "the result has no classification columns"
    assert all(any(r[k] for k in added) for r in out), "a row came out without any result"
