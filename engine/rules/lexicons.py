"""lexicons/*.yaml: concepts — named sets of phrases that `said:` / `noted:` tests share.

```yaml
concepts:
  - id: budget_exhausted
    label: {zh: 预算已经用完, en: the budget is used up}
    zh: [预算花完了, 钱都花光了, 预算...用完]
    en: [budget is spent, used up our budget]
    regex: ['预算.{0,4}(用|花)(完|光)']
```

An entry is matched within one clause of what was said, after both sides are normalised
(engine.words.normalise: width, case, traditional → simplified); `...` in an entry is a short gap.
"""
from __future__ import annotations

from ..i18n import _
from .conditions import ConditionReader
from .model import Concept, WordsSettings, normalise_text
from .patterns import pattern_problem
from .yamlpos import Located

GAP = "..."
MAX_ENTRY_CHARS = 60  # a phrase, not a paragraph: longer belongs in a class's `examples:`


class LexiconReader(ConditionReader):
    """Reads lexicon files into `self.concepts`, and the manifest's `words:` settings."""

    def lexicon_file(self, loc: Located | None) -> None:
        if loc is None:
            return
        m = self.mapping(loc, _("lexicon file"), required=("concepts",))
        if m is None:
            return
        for item in self.items(m.get("concepts"), "concepts"):
            self.concept(item)

    def concept(self, item: Located) -> None:
        cm = self.mapping(item, _("concept"), required=("id", "label"), optional=("zh", "en", "regex", "note"))
        if cm is None:
            return
        cid = self.ident(cm.get("id"), _("concept id"))
        label = self.text(cm.get("label"), _("concept label"))
        note = self.note(cm.get("note"), "note")
        entries: list[str] = []
        where = []
        for key in ("zh", "en"):
            for x in self.items(cm.get(key), f"concept.{key}"):
                s = self.string(x, _("concept phrase"))
                if s is None:
                    continue
                e = normalise_text(s).strip()
                if not e.replace(GAP, "").strip():
                    self.err(x.pos, _("an empty phrase: write the words the customer says"), "empty")
                elif len(e) > MAX_ENTRY_CHARS:
                    self.err(x.pos, _("a phrase of {n} characters is too long for a concept (at most {limit}); put "
                                      "whole sentences in the class's `examples:`", n=len(e), limit=MAX_ENTRY_CHARS),
                             "long-phrase")
                elif e.startswith(GAP) or e.endswith(GAP):
                    self.err(x.pos, _("`...` stands between two parts of a phrase, not at its start or end"),
                             "bad-phrase")
                elif e in entries:
                    self.err(x.pos, _("{phrase!r} is listed twice in this concept; keep one", phrase=s),
                             "duplicate-phrase")
                else:
                    entries.append(e)
                    where.append(x.pos)
        regexes: list[str] = []
        for x in self.items(cm.get("regex"), "concept.regex"):
            s = self.string(x, _("concept pattern"))
            problem = pattern_problem(s) if s is not None else None
            if problem is not None:
                self.err(x.pos, *problem)
            elif s is not None:
                regexes.append(s)
        if not entries and not regexes and "id" in cm:
            self.err(item.pos, _("concept {id} has no phrases: give zh and/or en phrases", id=cid), "empty")
            return
        if cid is None or label is None:
            return
        if cid in self.concepts:
            self.err(cm["id"].pos, _("duplicate concept id {id!r} (first at {first}); rename one of them", id=cid,
                                     first=self.concepts[cid].pos), "duplicate-id")
            return
        self.concepts[cid] = Concept(cid, label, tuple(entries), tuple(regexes), item.pos, tuple(where), note)

    def words_settings(self, loc: Located | None) -> WordsSettings:
        """rulebase.yaml `words: {examples: {threshold: 0.35, weight: 0.5}}`."""
        if loc is None:
            return WordsSettings()
        wm = self.mapping(loc, "words", optional=("examples",))
        if wm is None or "examples" not in wm:
            return WordsSettings()
        em = self.mapping(wm["examples"], "words.examples", optional=("threshold", "weight"))
        if em is None:
            return WordsSettings()
        default = WordsSettings()
        threshold = self.weight(em["threshold"], "threshold") if "threshold" in em else None
        weight = self.weight(em["weight"], "weight") if "weight" in em else None
        return WordsSettings(default.examples_threshold if threshold is None else threshold,
                             default.examples_weight if weight is None else weight)
