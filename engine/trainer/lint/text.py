"""Rep-facing text: what a rep reads must not talk about where the knowledge came from.

seed-mention (error): a rationale, advice, summary, description, label, question, help or warning
  mentions the seed documents, the rulebase or an author's stance ("002说", "本知识库不采纳",
  "the seed says", "not adopted"). Reps read these texts; such remarks belong in `note:`.
example-in-rationale: a rationale quotes a sentence containing a keyword its own rule listens
  for — an example of what a customer says, which belongs in `examples:`, so that a report never
  quotes it as if this customer had said it.

The texts are read from the YAML itself (every `zh:`/`en:` string of typologies/, guidance/,
facts/ and rulebase.yaml), so the position points at the offending words, and anything under
`note:` (trainers only), `examples:` and `said:` (customers' words) is left alone.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ...errors import Problem
from ...i18n import _
from ...rules.loader import display_path, normalise_text
from ...rules.model import PhraseTest, Rule
from ...rules.yamlpos import Located, Pos
from .context import ERROR, Context, Family, problem
from .logic import atoms_with_polarity

# Keys whose texts only trainers read, or that hold customers' words rather than ours.
EXEMPT_KEYS = frozenset({"note", "notes", "examples", "said", "source", "sources"})
LANG_KEYS = ("zh", "en")

# Not the tail of a bigger number or word: "1,000", "10 000", "v001".
_NOT_IN_A_NUMBER = r"(?<![0-9A-Za-z.,，])(?<!\d[ \u00a0\u202f])"

# Talking about the sources or the authors' stance, in either language. Each is narrow on purpose:
# "资料" and "documents" are ordinary words in sales advice ("准备资料", "wants documents");
# only "the document says", "资料说" and the like are remarks about a source.
_MENTIONS = [
    r"种子(?!客户|用户|选手)",
    r"(?:本|该|这个|我们的)知识库",
    r"(?:文档|资料|原文|原书|书中|书里|作者)(?:里|中|上)?(?:说|称|认为|写道|描绘|描述|指出|提到|的说法)",
    r"(?:不|未|没有|不予|都|均|予以)采纳",
    # a seed cited by number: 002说, 000 ❽ 说, 按001“…”, 001的版本, 001要求
    _NOT_IN_A_NUMBER + r"0\d\d(?![0-9.%])(?:\s*[\u2776-\u277f\u2780-\u2793])?\s*(?:说|称|认为|要求|描绘|描述|的版本|版本|的说法|的应对|的例子|里|中|[“\"「:：])",
    r"\bseeds?\b(?!\s+(?:customers?|users?|clients?|money|funding|rounds?|capital))",
    r"\b(?:this|the|our) (?:rulebase|rule base|knowledge base)\b",
    r"\b(?:source|seed) (?:documents?|texts?)\b",
    r"\b(?:the|this) (?:documents?|book|text|authors?)(?:'s)? (?:says?|describes?|calls?|portrays?|suggests?|"
    r"recommends?|advises?|claims?|puts it)\b",
    r"\baccording to the (?:documents?|book|text|authors?)\b",
    r"\bnot adopted\b|\bwe do not adopt\b",
]
MENTION = re.compile("|".join(f"(?:{p})" for p in _MENTIONS), re.IGNORECASE)
_SEED_ID_CONTEXT = _NOT_IN_A_NUMBER + r"{id}(?![0-9A-Za-z.%])"

# A quoted sentence: 「…」, “…” or "…" (short ones are words, not sentences).
QUOTE = re.compile(r"「([^」]{4,})」|“([^”]{4,})”|\"([^\"]{4,})\"")


def _seed_ids(ctx: Context) -> re.Pattern | None:
    """The declared seed ids (three characters or more, so a plain "1" is not taken for seed 1)."""
    ids = sorted((s for s in ctx.rb.seeds if len(s) >= 3), key=len, reverse=True)
    if not ids:
        return None
    return re.compile("|".join(_SEED_ID_CONTEXT.format(id=re.escape(s)) for s in ids))


def text_files(ctx: Context) -> list[Path]:
    root = Path(ctx.rb.root)
    return [root / "rulebase.yaml", *sorted((root / "facts").glob("*.yaml")), *ctx.rule_files()]


def rep_texts(tree: Located | None) -> Iterator[tuple[str, str, Located]]:
    """(field, owner id, node) of every `zh:`/`en:` string a rep may read, outside exempt keys."""
    if tree is None:
        return
    stack: list[tuple[Located, tuple[str, ...], str]] = [(tree, (), "")]
    while stack:
        node, path, owner = stack.pop()
        if isinstance(node.value, dict):
            ident = node.value.get("id")
            if ident is not None and isinstance(ident.value, (str, int)):
                owner = str(ident.value)
            for key, child in node.value.items():
                if key in EXEMPT_KEYS:
                    continue
                if key in LANG_KEYS and isinstance(child.value, str) and path:
                    yield _field(path), owner, child
                else:
                    stack.append((child, (*path, key), owner))
        elif isinstance(node.value, list):
            stack.extend((x, path, owner) for x in node.value)


def _field(path: tuple[str, ...]) -> str:
    """The field a trainer would look for: `advice` for any stage of advice, `class description`, …"""
    if "advice" in path:
        return "advice"
    if path[-1] in ("description", "label") and "classes" in path:
        return f"class {path[-1]}"
    if path[-1] in ("label",) and "values" in path:
        return "value label"
    return path[-1]


def locate(ctx: Context, node: Located, start: int, found: str) -> Pos:
    """Where `found` (at `start` in the node's text) stands in the file; the node's start if it cannot tell."""
    lines = _lines(ctx, node.pos.file)
    if not lines or node.pos.line > len(lines):
        return node.pos
    first = lines[node.pos.line - 1]
    col0 = node.pos.col - 1
    # a scalar on one line, plain or quoted: the text starts at the node (after its quote)
    if "\n" not in node.value[:start]:
        for skip in (0, 1):
            at = col0 + skip + start
            if first[at:at + len(found)] == found:
                return Pos(node.pos.file, node.pos.line, at + 1)
        at = first.find(found, col0)  # escapes before it shifted the text
        if at >= 0:
            return Pos(node.pos.file, node.pos.line, at + 1)
    # a block scalar (| or >) or a plain one over several lines: its lines follow the node's line, more
    # indented than the key; a literal keeps the line breaks, so try the line the text is on first
    indent = len(first) - len(first.lstrip())
    end = node.pos.line
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    expected = min(node.pos.line + node.value[:start].count("\n"), end)
    for n in [*range(expected, end), *range(node.pos.line, expected)]:
        at = lines[n].find(found)
        if at >= 0:
            return Pos(node.pos.file, n + 1, at + 1)
    return node.pos


def _lines(ctx: Context, file: str) -> list[str]:
    cache = ctx.memo.setdefault("text-lines", {})
    if file not in cache:
        path = Path(file)
        if not path.is_absolute() and not path.exists():
            path = Path(ctx.rb.root) / file
        try:
            cache[file] = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError):
            cache[file] = []
    return cache[file]


def seed_mentions(ctx: Context) -> Iterator[Problem]:
    seed_ids = _seed_ids(ctx)
    for path in text_files(ctx):
        tree = ctx.nodes.tree(display_path(path))
        for field, owner, node in rep_texts(tree):
            text = node.value
            found_at = [m for m in (MENTION.search(text), seed_ids.search(text) if seed_ids else None) if m]
            if not found_at:
                continue
            m = min(found_at, key=lambda x: x.start())
            found = m.group(0).strip().rstrip("“\"「").strip()
            start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
            yield problem(locate(ctx, node, start, found),
                          _("`{field}` of {owner} mentions the sources or an author's stance (“{found}”); reps read "
                            "this text, so move the remark into `note:`", field=field, owner=owner or "?",
                            found=found), "seed-mention", ERROR)


def examples_in_rationale(ctx: Context) -> Iterator[Problem]:
    for rule in (r for r in ctx.rb.rules if not r.generated):  # generated text quotes its original
        keywords = _keywords(rule)
        node = ctx.nodes.child(rule.pos, "rationale")
        if not keywords or node is None or not isinstance(node.value, dict):
            continue
        for lang in LANG_KEYS:
            text_node = node.value.get(lang)
            if text_node is None or not isinstance(text_node.value, str):
                continue
            for q in QUOTE.finditer(text_node.value):
                quoted = next(g for g in q.groups() if g is not None)
                if any(k in normalise_text(quoted) for k in keywords):
                    yield problem(locate(ctx, text_node, q.start(), q.group(0)),
                                  _("the rationale of rule {rule} quotes an example of what a customer says "
                                    "({quote}); put it in `examples:` so a report never quotes it as this "
                                    "customer's words", rule=rule.id, quote=q.group(0)), "example-in-rationale")
                    break


def _keywords(rule: Rule) -> set[str]:
    return {k for atom, positive in atoms_with_polarity(rule.when)
            if isinstance(atom, PhraseTest) and positive for k in atom.keywords}


SEED_MENTION = Family("seed-mention", ("seed-mention",), seed_mentions)
EXAMPLES = Family("examples", ("example-in-rationale",), examples_in_rationale)
