"""Results as JSON (the public contract) and as text, Markdown or HTML via Jinja.

`to_json` builds the contract; every template renders that same dict, so a
trainer's own `--template` sees exactly what the JSON shows.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import unicodedata
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from ..paths import TEMPLATES
from ..reasoning.inference import Matched, Result
from .describe import class_label, describe, value_label

TEMPLATES_DIR = TEMPLATES
FORMATS = ("text", "md", "html", "json")
_TEMPLATE_FOR = {"text": "report.txt", "md": "report.md", "html": "report.html"}

UI = {
    "zh": {
        "title": "知客 · 客户研判与销售策略", "conclusions": "结论", "because": "依据", "strategies": "策略",
        "missing": "还需了解(按价值排序)", "warnings": "警告", "confidence": "置信度", "alternatives": "备选",
        "insufficient evidence": "证据不足", "ambiguous": "难以区分", "no_conclusion": "未定",
        "derived": "推出的事实", "rule": "规则", "source": "出处", "general": "通用", "for": "适用",
        "profile": "客户资料", "said": "客户原话", "none": "无", "rulebase": "知识库", "against": "反证",
        "weight": "权重", "when": "条件", "question": "问题", "next_best_action": "下一步最佳行动", "derived_by": "由规则推出:",
    },
    "en": {
        "title": "zhike · customer read-out and sales strategy", "conclusions": "Conclusions", "because": "Why",
        "strategies": "Strategy", "missing": "Ask next (most useful first)", "warnings": "Warnings",
        "confidence": "confidence", "alternatives": "alternatives", "insufficient evidence": "insufficient evidence",
        "ambiguous": "ambiguous", "no_conclusion": "undecided", "derived": "Derived facts", "rule": "rule",
        "source": "source", "general": "general", "for": "for", "profile": "Profile", "said": "What the customer said",
        "none": "none", "rulebase": "rulebase", "against": "against", "weight": "weight", "when": "when",
        "question": "question", "next_best_action": "Next best action", "derived_by": "derived by",
    },
}


def _matched_json(m: Matched, result: Result, lang: str) -> dict:
    rb = result.rulebase
    if m.kind == "fact":
        f = rb.facts.get(m.id)
        name = f.label.get(lang) if f else m.id
        out = {"kind": "fact", "fact": m.id, "value": m.value,
               "text": f"{name} = {value_label(rb, m.id, m.value, lang)}"}
        if m.derived_by:
            out["derived_by"] = m.derived_by
            out["text"] += f" ({UI[lang]['derived_by']} {m.derived_by})"
        return out
    if m.kind == "said":
        quote = "“" if lang == "en" else "「"
        end = "”" if lang == "en" else "」"
        label = UI[lang]["said"]
        return {"kind": "said", "utterance": m.utterance, "matched": m.value,
                "text": f"{label}: {quote}{m.utterance}{end} ({m.value})"}
    t = rb.typologies.get(m.id)
    text = f"{t.label.get(lang) if t else m.id} = {class_label(rb, m.id, m.value, lang)}"
    if m.confidence is not None:
        text += f" ({m.confidence:.0%})"
    return {"kind": "conclusion", "typology": m.id, "value": m.value, "confidence": m.confidence, "text": text}


def to_json(result: Result, lang: str = "zh") -> dict[str, Any]:
    """The JSON contract of `zhike classify --format json`."""
    rb = result.rulebase
    conclusions: dict[str, Any] = {}
    for tid, c in result.conclusions.items():
        t = c.typology
        reason_key = "ambiguous" if c.reason and c.reason.startswith("ambiguous") else c.reason
        conclusions[tid] = {
            "value": c.value,
            "label": class_label(rb, tid, c.value, lang) if c.value else None,
            "typology_label": t.label.get(lang),
            "confidence": c.confidence,
            "alternatives": [{"value": cls, "label": class_label(rb, tid, cls, lang), "confidence": s}
                             for cls, s in c.scores if cls != c.value and s > 0],
            "reason": c.reason,
            "reason_text": UI[lang].get(reason_key, c.reason) if c.reason else None,
            "because": [{
                "rule": b.rule.id,
                "class": b.cls,
                "class_label": class_label(rb, tid, b.cls, lang),
                "weight": round(b.weight, 4),
                "when": describe(b.rule.when, rb, lang),
                "facts": [_matched_json(m, result, lang) for m in b.facts],
                "rationale": b.rule.rationale.get(lang),
                "source": b.rule.source.to_json(),
            } for b in c.because],
            "missing": c.missing,
        }
    strategies = []
    for s in result.strategies:
        st = s.strategy
        own = next((c for t, c in st.classes if t == st.typology), None)
        strategies.append({
            "id": st.id,
            "typology": st.typology,
            "class": own,
            "classes": [f"{t}.{c}" for t, c in st.classes],
            "label": " + ".join(class_label(rb, t, c, lang) for t, c in st.classes)
                     or (st.summary.get(lang) if st.summary else st.id),
            "confidence": round(s.confidence, 4),
            "advice": {(k or "general"): v.get(lang) for k, v in st.advice.items()},
            "because": [_matched_json(m, result, lang) for m in s.facts],
            "source": st.source.to_json(),
            "summary": st.summary.get(lang) if st.summary else None,
            "priority": st.priority,
        })
    nba = result.next_best_action
    return {
        "zhike": __version__,
        "lang": lang,
        "rulebase": {"name": rb.name, "version": rb.version, "sha256": rb.sha256},
        "profile": {"name": result.profile.name, "facts": result.profile.facts,
                    "utterances": result.profile.utterances},
        "conclusions": conclusions,
        "strategies": strategies,
        "next_best_action": {"strategy": nba.strategy.id, "text": nba.strategy.summary.get(lang),
                             "confidence": round(nba.confidence, 4)} if nba else None,
        "derived": [{"fact": d.fact, "value": d.value, "rule": d.rule.id,
                     "text": f"{rb.facts[d.fact].label.get(lang)} = {value_label(rb, d.fact, d.value, lang)}",
                     "rationale": d.rule.rationale.get(lang), "source": d.rule.source.to_json()}
                    for d in result.derived],
        "missing": result.missing,
        "warnings": [{"rule": w.rule.id, "text": w.text.get(lang), "source": w.rule.source.to_json()}
                     for w in result.warnings],
        "fired": result.fired,
    }


# --- terminal text helpers (CJK characters take two columns) -------------------

def dwidth(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in str(s))


def pad(s: Any, width: int) -> str:
    s = str(s)
    return s + " " * max(0, width - dwidth(s))


def wrap(s: Any, width: int = 0, indent: int = 0) -> str:
    """Wrap text to the terminal by display width, breaking between CJK characters or at spaces."""
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 110)
    avail = max(20, width - indent)
    lines: list[str] = []
    for para in str(s).splitlines() or [""]:
        line, w = "", 0
        for token in _tokens(para):
            tw = dwidth(token)
            # Chinese typesetting never starts a line with closing punctuation: let it overhang
            if w + tw > avail and line.strip() and token[:1] not in _NO_LINE_START:
                lines.append(line.rstrip())
                token = token.lstrip()
                line, w = "", 0
                tw = dwidth(token)
            line += token
            w += tw
        lines.append(line.rstrip())
    return ("\n" + " " * indent).join(lines)


_NO_LINE_START = set("。，、；：？！」』）》〉”’,.;:?!)]}%")


def _tokens(text: str):
    word = ""
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            if word:
                yield word
                word = ""
            yield ch
        elif ch == " ":
            yield word + " "
            word = ""
        else:
            word += ch
    if word:
        yield word


# --- Markdown: every interpolated value is escaped ------------------------------
#
# Customers' words and rule text end up in Markdown that a CRM or wiki renders.
# A newline in a value would end a table row or start a heading; `[x](…)`
# would be a live link, `<script>` raw HTML. The md environments escape each
# `{{ value }}` in their `finalize` hook, so no template line can forget it;
# `code`, `anchor` and `safe` mark the few values that are already safe.

_MD_NEWLINES = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# inline syntax anywhere in a line. `(`, `)` and `!` only mean something next to a `[` or `]`
# (links, images), and those are always escaped, so prose keeps its parentheses; `{ }` mean
# nothing in CommonMark or GFM. An `_` between two letters or digits cannot start or end
# emphasis (CommonMark's intraword rule), so ids like `no_budget` stay as they are.
_MD_INLINE = re.compile(r"[\\`*\[\]|~$]|(?<![^\W_])_|_(?![^\W_])")
# block syntax, only at the start of a line: headings, bullets (`- `, `+ `), rules and setext
# underlines (`---`, `===`), ordered lists (`1. `, `1) `); `-0.20` or `+5` start no block
_MD_BLOCK_START = re.compile(r"^(\s*)(?:([#.)]|[-+=](?=\s|$)|--|==)|(\d{1,9})[.)](?=\s|$))")


def md_escape(value: Any) -> str:
    """Plain text as Markdown that renders as that same text, on one line, with no HTML.

    Newlines become spaces (a value never ends a table row or starts a block);
    Markdown punctuation gets a backslash; `& < >` become HTML entities. Block
    markers (`# - + = 1.`) are escaped where a value starts, the only place a
    one-line value can start a block, so ordinary prose keeps its periods and
    hyphens and a weight keeps its sign.
    """
    s = _MD_NEWLINES.sub(" ", str(value))
    s = _MD_INLINE.sub(lambda m: "\\" + m.group(0), s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    m = _MD_BLOCK_START.match(s)
    if m:
        if m.group(2):
            s = f"{m.group(1)}\\{s[m.end(1):]}"
        else:
            s = f"{m.group(1)}{m.group(3)}\\{s[m.end(3):]}"
    return s


def _md_finalize(value: Any) -> Any:
    from markupsafe import Markup

    if isinstance(value, Markup) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    return md_escape(value)


def md_text(value: Any):
    """The `md` filter: escape explicitly (in a template that is not Markdown by suffix)."""
    from markupsafe import Markup

    return Markup(md_escape(value))


def md_code(value: Any):
    """The `code` filter: a Markdown code span of `value` (ids, versions), safe in a table cell."""
    from markupsafe import Markup

    s = _MD_NEWLINES.sub(" ", str(value)).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s[:1] == "`" or s[-1:] == "`" else ""
    return Markup(f"{fence}{pad}{s}{pad}{fence}")


def md_anchor(value: Any):
    """The `anchor` filter: an HTML id / link fragment made only of letters, digits, _ and -."""
    from markupsafe import Markup

    return Markup(re.sub(r"[^A-Za-z0-9_-]", "-", str(value)))


def _add_filters(env) -> None:
    env.filters.update(pad=pad, wrap=wrap, dwidth=dwidth,
                       pct=lambda x: "–" if x is None else f"{float(x):.0%}",
                       md=md_text, code=md_code, anchor=md_anchor)


def bundled_environment(fmt: str):
    """The environment of zhike's own templates: autoescaped HTML, escaped Markdown, plain text."""
    import jinja2

    kwargs: dict[str, Any] = {"finalize": _md_finalize} if fmt == "md" else {}
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=(fmt == "html"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **kwargs,
    )
    _add_filters(env)
    return env


# --- a trainer's own template (--template): sandboxed, bounded, one-line errors ----------

TEMPLATE_MAX_BYTES = 1 << 20  # one template file (source)
TEMPLATE_MAX_OUTPUT = 64 << 20  # characters a user template may produce
TEMPLATE_MAX_SECONDS = 30.0  # rendering time of a user template (main thread only)
_MAX_SEQUENCE = 10_000_000  # `"x" * n`, `[..] * n` in a user template
_MAX_INT_BITS = 100_000  # `a ** b` in a user template


class _TemplateRefused(Exception):
    """A user template asked for something it may not have; `where` is file:line when known."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.where = where


class _OwnDirLoader:
    """Loads templates only from the top template's own directory.

    No absolute paths, no `..`, no symlink leading out of the directory, only
    regular files up to TEMPLATE_MAX_BYTES of UTF-8 text.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.real = Path(os.path.realpath(directory))
        self.files: set[str] = set()  # display names, to find template frames in a traceback

    def shown(self, name: str) -> str:
        return str(self.directory / name)

    def get_source(self, environment, template: str):
        parts = template.replace("\\", "/").split("/")
        if template.startswith(("/", "\\")) or os.path.isabs(template) or ".." in parts or "\0" in template:
            raise _TemplateRefused(f"cannot load template {template!r}: a template may only include or extend "
                                   f"files in its own directory ({self.real}), by a name without '..' "
                                   "or a leading '/'")
        parts = [p for p in parts if p not in ("", ".")]
        name = "/".join(parts)
        path = self.directory.joinpath(*parts)
        shown = self.shown(name)
        real = Path(os.path.realpath(path))
        if real != self.real and self.real not in real.parents:
            raise _TemplateRefused(f"cannot load template {shown}: it leads out of {self.real}")
        try:
            st = os.stat(real)
        except FileNotFoundError:
            import jinja2

            raise jinja2.TemplateNotFound(template, f"template {shown} not found") from None
        except OSError as e:
            raise _TemplateRefused(f"cannot read template {shown}: {e.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise _TemplateRefused(f"cannot load template {shown}: not a regular file")
        if st.st_size > TEMPLATE_MAX_BYTES:
            raise _TemplateRefused(f"template {shown} is larger than {TEMPLATE_MAX_BYTES >> 20} MB")
        try:
            with open(real, "rb") as fh:
                data = fh.read(TEMPLATE_MAX_BYTES + 1)
        except OSError as e:
            raise _TemplateRefused(f"cannot read template {shown}: {e.strerror}") from None
        try:
            source = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[:e.start].count(b"\n") + 1
            raise _TemplateRefused(f"the template is not UTF-8 text (byte 0x{data[e.start]:02x}); "
                                   "save it as UTF-8", where=f"{shown}:{line}") from None
        self.files.add(shown)
        return source, shown, lambda: True

    def load(self, environment, name, globals=None):
        # jinja2's own load() compiles what get_source returns (not subclassed: jinja2 loads lazily)
        import jinja2

        return jinja2.BaseLoader.load(self, environment, name, globals)


def _sandbox(directory: Path, fmt: str):
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment, SecurityError

    class Sandbox(SandboxedEnvironment):
        # `*` and `**` can build a gigabyte from a few characters: bounded
        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context, operator, left, right):
            if operator == "**" and _is_int(left) and _is_int(right) and right > 0 \
                    and abs(left) > 1 and abs(left).bit_length() * right > _MAX_INT_BITS:
                raise SecurityError(f"{left} ** {right} is too large a number for a template")
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and _is_int(n) and len(seq) * n > _MAX_SEQUENCE:
                        raise SecurityError(f"repeating a {type(seq).__name__} {n} times is too much for a template")
            return super().call_binop(context, operator, left, right)

    loader = _OwnDirLoader(directory)
    kwargs: dict[str, Any] = {"finalize": _md_finalize} if fmt == "md" else {}
    env = Sandbox(loader=loader, autoescape=(fmt == "html"), undefined=jinja2.StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, **kwargs)
    env.globals.pop("lipsum", None)  # generates any amount of text from one call
    _add_filters(env)
    return env, loader


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _user_template_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".xml"):
        return "html"
    if suffix in (".md", ".markdown"):
        return "md"
    return "text"


class _Timeout(Exception):
    pass


def _render_user_template(path: Path, data: dict[str, Any]) -> str:
    """Render a trainer's template; any problem in it is one `file:line: message` InputError."""
    if path.is_symlink():  # includes are looked up beside the real file
        path = Path(os.path.realpath(path))
    env, loader = _sandbox(path.parent, _user_template_kind(path))
    try:
        with _time_limit(TEMPLATE_MAX_SECONDS):
            tpl = env.get_template(path.name)
            out: list[str] = []
            size = 0
            for chunk in tpl.generate(**data):
                size += len(chunk)
                if size > TEMPLATE_MAX_OUTPUT:
                    raise _TemplateRefused(f"the template produces more than {TEMPLATE_MAX_OUTPUT >> 20} MB "
                                           "of output")
                out.append(chunk)
            return "".join(out)
    except Exception as e:  # the trainer's own code: every error is theirs to fix
        top = loader.shown(path.name)
        raise InputError(_template_problem(e, loader.files, top)) from None


def _template_problem(e: BaseException, files: set[str], top: str) -> str:
    import jinja2

    where = None
    if isinstance(e, _TemplateRefused) and e.where:
        where = e.where
    elif isinstance(e, jinja2.TemplateSyntaxError) and e.lineno:
        where = f"{e.filename or top}:{e.lineno}"
    else:
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in files:
                where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
            tb = tb.tb_next
    if isinstance(e, _Timeout):
        message = f"the template ran for more than {TEMPLATE_MAX_SECONDS:g} seconds; stopped"
    elif isinstance(e, RecursionError):
        message = "templates include or call each other too deeply"
    elif isinstance(e, jinja2.TemplateSyntaxError):
        message = f"syntax error: {e.message}"
    elif isinstance(e, jinja2.TemplateNotFound):
        message = e.message or f"template {e.name} not found"
    elif isinstance(e, (jinja2.TemplateError, _TemplateRefused)):
        message = str(e)
    else:
        message = f"{type(e).__name__}: {e}"
    message = " ".join(str(message).split())
    return f"{where or top}: {message}"


class _time_limit:
    """Raise _Timeout in the main thread after `seconds` (SIGALRM); elsewhere no limit."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = False

    def __enter__(self):
        import signal
        import threading

        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            def _expired(signum, frame):
                raise _Timeout()

            self.old = signal.signal(signal.SIGALRM, _expired)
            self.old_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed = True
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
            if self.old_timer[0]:
                signal.setitimer(signal.ITIMER_REAL, *self.old_timer)


def context(result: Result, lang: str) -> dict[str, Any]:
    rb = result.rulebase
    data = to_json(result, lang)
    return {
        "r": data,
        "lang": lang,
        "ui": UI[lang],
        "stages": [{"id": s.id, "label": s.label.get(lang)} for s in rb.stages.values()]
        + [{"id": "general", "label": UI[lang]["general"]}],
        "rulebase_title": rb.title.get(lang),
        "questions": [{"id": f, "label": rb.facts[f].label.get(lang), "question": rb.facts[f].question.get(lang)}
                      for f in data["missing"] if f in rb.facts],
        "facts_shown": [{"id": fid, "label": rb.facts[fid].label.get(lang),
                         "value": value_label(rb, fid, v, lang)} for fid, v in result.profile.facts.items()],
        "width": min(shutil.get_terminal_size((100, 24)).columns, 110),
    }


def render(result: Result, fmt: str = "text", lang: str = "zh", template: str | Path | None = None) -> str:
    """The report as text. `fmt` is text, md, html or json; `template` a trainer's own Jinja file.

    A trainer's template runs sandboxed (no Python internals, includes only from
    its own directory, bounded size and time); a problem in it raises InputError
    with `file:line: message`.
    """
    if fmt == "json" and template is None:
        import json

        return json.dumps(to_json(result, lang), ensure_ascii=False, indent=2) + "\n"
    if template is not None:
        return _render_user_template(Path(template), context(result, lang))
    return bundled_environment(fmt).get_template(_TEMPLATE_FOR[fmt]).render(**context(result, lang))
