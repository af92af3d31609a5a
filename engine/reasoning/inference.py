"""Forward-chaining inference inside durable_rules, and the explained result.

The driver asserts a profile's facts into the compiled rulesets pass by pass
(see compiler.py for why passes exist). Actions are cheap: they record which
rule fired and on which facts. Evidence for a class is combined as MYCIN
certainty factors when a typology's pass is complete, and the conclusion is
asserted back into the engine as a fact, where rules and strategies of later
passes match it.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orjson import loads as _loads

from ..errors import InferenceError
from ..i18n import N_, _, tr
from ..rules.loader import RESERVED_UTTERANCES
from ..rules.model import (
    PhraseTest,
    Rule,
    Rulebase,
    Source,
    Strategy,
    Text,
    Typology,
    walk,
)
from ..rules.patterns import REGEX_TIMEOUT
from ..words.phrases import Hit, PhraseTimeout
from .compiler import CompiledRulebase
from .deps import Deps as _Deps
from .deps import missing_facts as _missing
from .driver import EngineRejected
from .profile import Profile

_sid_counter = itertools.count(1)


def combine(weights: list[float]) -> float:
    """EMYCIN certainty factor of several pieces of evidence (negative = against).

    Positive weights combine to MB = a + b(1-a) ..., negative ones to MD the
    same way, and CF = (MB - MD) / (1 - min(MB, MD)). Order does not matter.
    """
    mb = md = 0.0
    for w in weights:
        if w > 0:
            mb = mb + w * (1 - mb)
        elif w < 0:
            md = md + (-w) * (1 - md)
    if mb >= 1.0 and md >= 1.0:
        return 0.0
    return (mb - md) / (1 - min(mb, md))


@dataclass(slots=True)
class Matched:
    """One fact a rule matched: an answer, a derived fact, a phrase or a conclusion."""

    kind: str  # fact | said | noted | conclusion
    id: str  # fact id, phrase id or typology id
    value: Any = None
    confidence: float | None = None
    utterance: str | None = None
    derived_by: str | None = None
    hit: Hit | None = None  # for said / noted: the clause, the concept or nearest example, the strength


class _BuiltWhenRead(Sequence):
    """A list worked out the first time it is read (`_build`): most of an inference's explanation
    is never read in a batch run."""

    __slots__ = ("_items",)

    def _build(self) -> list:
        raise NotImplementedError

    def _load(self) -> list:
        if self._items is None:
            self._items = self._build()
        return self._items

    def __getitem__(self, i):
        return self._load()[i]

    def __len__(self) -> int:
        return len(self._load())

    def __iter__(self):
        return iter(self._load())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return repr(self._load())


class MatchedFacts(_BuiltWhenRead):
    """The facts a firing matched, parsed and decoded from the engine's message text only when
    someone reads them: most firings in a batch run are never explained."""

    __slots__ = ("_ctx", "_message")

    def __init__(self, message: str, ctx: tuple[dict, tuple[list[str], list[str]]]):
        self._message, self._ctx, self._items = message, ctx, None

    def _build(self) -> list[Matched]:
        # the engine's action text is {"<rule name>": <what the rule matched>}
        return _decode(next(iter(_loads(self._message).values())), *self._ctx)

    @property
    def key(self) -> str | None:
        """What the firing matched, as a value equal for firings on equal facts in any profile (the
        engine's text), or None when it matched words: those are read through this profile's hits."""
        m = self._message
        return None if _PHRASE.search(m) else m


def _decode(message: Any, phrase_hits: dict[str, Hit], texts: tuple[list[str], list[str]]) -> list[Matched]:
    out: list[Matched] = []
    stack = [message]  # depth first, in order; a loop, not a nested recursive function (that is a cycle)
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            t = x.get("t")
            if isinstance(t, str) and "sid" in x:
                if t == "f":
                    out.append(Matched("fact", x["k"], x.get("v"), derived_by=x.get("r")))
                elif t == "p":
                    hit = phrase_hits.get(x["k"])
                    kind = "noted" if x.get("n") else "said"
                    said = texts[1] if kind == "noted" else texts[0]
                    if hit is None:
                        out.append(Matched(kind, x["k"], "", utterance=said[0] if said else ""))
                    else:
                        out.append(Matched(kind, x["k"], hit.matched, confidence=hit.strength, hit=hit,
                                           utterance=said[hit.utterance] if hit.utterance < len(said) else ""))
                elif t == "c":
                    out.append(Matched("conclusion", x["k"], x.get("v"), confidence=x.get("cf")))
                continue
            stack.extend(reversed(list(x.values())))
        elif isinstance(x, list):
            stack.extend(reversed(x))
    seen, unique = set(), []
    for m in out:
        key = (m.kind, m.id, repr(m.value))
        if key not in seen:
            seen.add(key)
            unique.append(m)
    return unique


_PHRASE = re.compile(r'"t":\s*"p"')  # a phrase fact in an action's text
_CONFIDENCE = re.compile(r'"cf":\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)')


def _lowest_confidence(message: str) -> float:
    """The lowest confidence among the conclusions and phrases a firing matched (1.0 if none), read
    from the action's text: only those facts carry `cf`, and inside a JSON string the key's quotes
    would be escaped, so no value can pass for one."""
    low = 1.0
    for cf in _CONFIDENCE.findall(message):
        v = float(cf)
        if v < low:
            low = v
    return low


@dataclass(slots=True)
class Because:
    """One fired rule in a conclusion's trace."""

    rule: Rule
    cls: str
    weight: float  # signed, after scaling by the confidence of its premises
    facts: list[Matched]


@dataclass(slots=True)
class Conclusion:
    typology: Typology
    value: str | None
    confidence: float
    scores: list[tuple[str, float]]  # every class with evidence, best first
    because: Sequence[Because]  # evidence for the class first, strongest first
    reason: str | None  # why value is None
    missing: list[str]


@dataclass(slots=True)
class StrategyResult:
    strategy: Strategy
    confidence: float
    facts: list[Matched]


@dataclass(slots=True)
class Derived:
    fact: str
    value: Any
    rule: Rule
    facts: list[Matched]


@dataclass(slots=True)
class Warning_:
    text: Text
    rule: Rule | Strategy  # a strategy too, when its `said:` pattern ran out of time
    facts: list[Matched]


@dataclass
class Result:
    rulebase: Rulebase
    profile: Profile
    conclusions: dict[str, Conclusion]
    strategies: list[StrategyResult]
    derived: list[Derived]
    warnings: list[Warning_]
    missing: list[str]
    fired: list[str]  # rule and strategy ids, in firing order

    @property
    def next_best_action(self) -> StrategyResult | None:
        """The most specific fired strategy that states a one-line action (priority, then chaining depth)."""
        best = [s for s in self.strategies if s.strategy.summary is not None]
        if not best:
            return None
        return max(best, key=lambda s: (s.strategy.priority, s.strategy.level, s.confidence))


@dataclass
class _Run:
    compiled: CompiledRulebase
    sid: str
    texts: tuple[list[str], list[str]]  # what the customer said, what the rep noted
    phrase_hits: dict[str, Hit]
    conclusions: dict[str, Conclusion] = field(default_factory=dict)
    fired: dict[int, str] = field(default_factory=dict)  # production index -> the engine's first match
    order: list[int] = field(default_factory=list)
    evidence: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)
    pending: list[dict] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    ranked: list[tuple[int, int, float, int, StrategyResult]] = field(default_factory=list)  # see absorb
    firings: _Firings = field(init=False)
    deps: _Deps | None = None
    absorbed: int = 0
    error: str | None = None

    def __post_init__(self) -> None:
        self.firings = _Firings(self.fired, (self.phrase_hits, self.texts))

    def on_fire(self, index: int, message: str) -> None:
        # Runs once per match the engine queues (see driver.py): keep it to a dict lookup (a
        # rule counts once however many ways it matches; the message text is parsed in absorb()
        # only for the first). An exception here is kept and raised to the caller after the call.
        if index not in self.fired:
            if index < 0:
                self.error = "the sink rule fired"
                return
            self.fired[index] = message
            self.order.append(index)

    def absorb(self) -> None:
        """Turn this pass's firings into evidence, derived facts, warnings and strategies."""
        if self.absorbed == len(self.order):
            return  # nothing fired in this pass (most passes of a sparse profile)
        prods = self.compiled.productions
        deps = self.deps
        scaled, effects = deps.scaled, deps.effects
        evidence, facts_of = self.evidence, self.firings.facts_of
        for index in self.order[self.absorbed:]:
            p = prods[index]
            factor = _lowest_confidence(self.fired[index]) if index in scaled else 1.0
            if isinstance(p, Strategy):
                # most specific first (see infer): its key, the production's index last (unique, so
                # sorting never compares two results)
                self.ranked.append((-p.priority, -p.level, -factor, index, StrategyResult(p, factor, facts_of(index))))
                continue
            weighs, sets, warns = effects[index]
            for typology, cls, weight in weighs:
                if typology in evidence:
                    evidence[typology].append((index, cls, weight * factor))
                else:
                    evidence[typology] = [(index, cls, weight * factor)]
            for e in sets:
                self.pending.append({"sid": self.sid, "t": "f", "k": e.fact, "v": e.value, "r": p.id})
                self.derived.append(Derived(e.fact, e.value, p, facts_of(index)))
            for e in warns:
                self.warnings.append(Warning_(e.text, p, facts_of(index)))
        self.absorbed = len(self.order)


class _Firings:
    """What each firing matched, made when first asked for (most firings only weigh evidence, and
    a batch row explains few of them). Apart from _Run on purpose: the conclusions' lazy traces
    hold it, and holding the run instead would tie the whole result into a reference cycle that
    only the garbage collector frees (~180 objects a row, collected in bulk: measurably slower)."""

    __slots__ = ("ctx", "fired", "matched")

    def __init__(self, fired: dict[int, str], ctx: tuple[dict[str, Hit], tuple[list[str], list[str]]]):
        self.fired, self.ctx = fired, ctx
        self.matched: dict[int, MatchedFacts] = {}

    def facts_of(self, index: int) -> MatchedFacts:
        m = self.matched.get(index)
        if m is None:
            m = self.matched[index] = MatchedFacts(self.fired[index], self.ctx)
        return m


def _fact_dicts(profile: Profile, sid: str) -> list[dict]:
    out = []
    for fid, value in profile.facts.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = float(v)
            out.append({"sid": sid, "t": "f", "k": fid, "v": v, "a": 1})
    if profile.utterances:  # lets `{fact: utterances, known: true}` work; phrases are matched separately
        out.append({"sid": sid, "t": "f", "k": RESERVED_UTTERANCES, "v": len(profile.utterances), "a": 1})
    return out


def _known_facts(profile: Profile, sid: str, hits: dict[str, Hit]) -> list[tuple[tuple[str, str], dict]]:
    """The profile's answers and phrase hits as engine facts, each with its (kind, id) key."""
    out = [(("f", f["k"]), f) for f in _fact_dicts(profile, sid)]
    out += [(("p", pid), _phrase_fact(sid, hit)) for pid, hit in hits.items()]
    return out


def _assert(compiled: CompiledRulebase, run: _Run, names: list[str], facts: list[dict]) -> None:
    driver = compiled.driver
    for name in names:
        try:
            driver.assert_facts(name, facts, run.on_fire)
        except EngineRejected as e:
            raise InferenceError(_("the rule engine rejected facts: {reason}", reason=e.message)) from e
        except Exception as e:
            raise InferenceError(_("a rule's action failed: {reason}", reason=f"{type(e).__name__}: {e}")) from e
        if run.error:
            raise InferenceError(run.error)


class _Reasons(_BuiltWhenRead):
    """A conclusion's trace (`Conclusion.because`), built when read: evidence for its class first,
    strongest first. A batch row reads the traces of its leading conclusions only."""

    __slots__ = ("_evidence", "_facts_of", "_prods", "_value")

    def __init__(self, evidence: list[tuple[int, str, float]], prods: list, facts_of: Callable[[int], MatchedFacts],
                 value: str | None):
        self._evidence, self._prods, self._facts_of, self._value, self._items = evidence, prods, facts_of, value, None

    def _build(self) -> list[Because]:
        prods, facts_of, value = self._prods, self._facts_of, self._value
        items = [Because(prods[index], cls, w, facts_of(index)) for index, cls, w in self._evidence]
        items.sort(key=lambda b: (b.cls != value, -abs(b.weight)))
        return items

    def __len__(self) -> int:
        return len(self._evidence)  # without building it

    def strongest(self) -> Because | None:
        """The first item for the concluded class with a positive weight, without building the rest
        (what a batch row's `reason` names): the greatest weight, the earliest on a tie."""
        if self._items is not None:
            return next((b for b in self._items if b.cls == self._value and b.weight > 0), None)
        best = None
        for item in self._evidence:
            if item[1] == self._value and item[2] > 0 and (best is None or item[2] > best[2]):
                best = item
        if best is None:
            return None
        index, cls, w = best
        return Because(self._prods[index], cls, w, self._facts_of(index))


def _conclude(run: _Run, typ: Typology) -> Conclusion:
    evidence = run.evidence.get(typ.id)
    if evidence is None:  # most typologies of a sparse profile: nothing to weigh
        return Conclusion(typ, None, 0.0, [], [], "insufficient evidence", [])
    per_class: dict[str, list[float]] = {}
    for _index, cls, w in evidence:
        if cls in per_class:
            per_class[cls].append(w)
        else:
            per_class[cls] = [w]
    if len(per_class) == 1:  # one class with evidence: nothing to sort
        ((c, ws),) = per_class.items()
        scores = [(c, combine(ws))]
    else:
        order = run.deps.class_order[typ.id]
        scores = sorted(((c, combine(ws)) for c, ws in per_class.items()), key=lambda cs: (-cs[1], order[cs[0]]))
    value, conf, reason = None, 0.0, None
    if scores[0][1] < typ.threshold:
        reason = "insufficient evidence"
    elif len(scores) > 1 and abs(scores[0][1] - scores[1][1]) < 1e-9:
        reason = f"ambiguous: {scores[0][0]} and {scores[1][0]} are equally supported"
    else:
        value, conf = scores[0][0], scores[0][1]
    because = _Reasons(evidence, run.compiled.productions, run.firings.facts_of, value)
    return Conclusion(typ, value, round(conf, 4), [(c, round(s, 4)) for c, s in scores], because, reason, [])


def _phrase_fact(sid: str, hit: Hit) -> dict:
    fact = {"sid": sid, "t": "p", "k": hit.test, "cf": hit.strength}
    if hit.heard == "noted":
        fact["n"] = 1
    return fact


def _ignore(index: int, message: str) -> None:
    """Retraction fires nothing (the pass markers go first), and if it did, it would not count."""


def _clean(compiled: CompiledRulebase, sid: str, used: list[tuple[str, list[dict]]], failed: bool) -> None:
    """Leave the sid empty for the next profile: retract every fact asserted, pass markers first
    so that no rule can complete (and fire) while the rest goes. After a failure the sid's state
    may also hold the engine's record of the exception, so the next profile gets a fresh sid."""
    driver = compiled.driver
    try:
        for name, batch in used:
            driver.retract_facts(name, [batch[-1], *batch[:-1]], _ignore)
    except Exception:  # a failed run may have left the state half-built
        failed = True
    if failed:
        # Not delete_state: it is what corrupts durable_rules' heap. One stale sid per failed
        # profile (a bug, never a user mistake) stays far below the 1024-sid limit.
        compiled.cache["sid"] = str(next(_sid_counter))


_SKIPPED_PATTERN = N_("too many patterns ran out of time on this profile, so /{pattern}/ was not tried and counts as "
                      "not said; simplify the rule's patterns (zhike rules check)")
_SLOW_PATTERN = N_("the pattern /{pattern}/ took longer than {seconds} s on utterance {n} and was stopped, so it counts "
                   "as not said; simplify the rule's pattern")


def _timeout_warnings(compiled: CompiledRulebase, slow: list[PhraseTimeout]) -> list[Warning_]:
    """One warning per `said:` test whose pattern ran out of time: the rule saw it as not said."""
    owners = compiled.cache.get("phrase_owners")
    if owners is None:
        owners = compiled.cache["phrase_owners"] = {
            c.id: p for p in compiled.productions for c in walk(p.when) if isinstance(c, PhraseTest)}
    out: list[Warning_] = []
    seen: set[str] = set()
    for t in slow:
        if t.test.id in seen:
            continue
        seen.add(t.test.id)
        pattern = t.pattern if len(t.pattern) <= 60 else t.pattern[:57] + "…"
        if t.utterance < 0:
            message, params = _SKIPPED_PATTERN, {"pattern": pattern}
        else:
            message = _SLOW_PATTERN
            params = {"pattern": pattern, "n": t.utterance + 1, "seconds": format(REGEX_TIMEOUT, "g")}
        out.append(Warning_(Text(tr("zh", message, **params), tr("en", message, **params)), owners[t.test.id], []))
    return out


def infer(compiled: CompiledRulebase, profile: Profile, missing: bool = True, advice: bool = True,
          missing_per_typology: bool = True) -> Result:
    """Run the rulebase on one profile and explain every conclusion.

    missing=False skips the missing-facts analysis (Result.missing and each
    Conclusion.missing stay empty): for hypothetical runs that only compare
    conclusions, such as the questionnaire's look-ahead. advice=False also leaves
    out the rulesets that hold only strategies (Result.strategies then lacks them):
    strategies never give evidence or facts, so conclusions and derived facts are
    the same, for about a fifth less engine work. missing_per_typology=False computes
    only Result.missing (each Conclusion.missing stays empty): what a batch row shows.
    """
    if compiled.closed:
        raise InferenceError(_("this compiled rulebase has been closed"))
    rb = compiled.rulebase
    with compiled.lock:  # durable_rules is not thread safe
        # One sid per compiled rulebase, emptied after every profile by retracting what
        # was asserted: durable_rules' delete_state corrupts its heap on large states
        # (seen with ~150 firings), and a fixed sid can never hit the 1024-live-sids limit.
        sid = compiled.cache.setdefault("sid", str(next(_sid_counter)))
        hits, slow = (compiled.phrases.match_checked(profile.utterances, profile.rep_notes)
                      if profile.utterances or profile.rep_notes else ({}, []))
        run = _Run(compiled, sid, (profile.utterances, profile.rep_notes), hits, deps=_Deps.of(compiled))
        run.warnings.extend(_timeout_warnings(compiled, slow))
        used: list[tuple[str, list[dict]]] = []
        failed = True
        try:
            deps = _Deps.of(compiled)
            routes, blind = deps.routes, compiled.blind
            # ruleset -> the facts known so far that its rules can match, in the order they became
            # known; a ruleset leaves once asserted (each belongs to one pass)
            waiting: dict[str, list[dict]] = {name: [] for name in compiled.ruleset_names}
            for key, fact in _known_facts(profile, sid, hits):
                for name in routes.get(key, ()):
                    waiting[name].append(fact)
            for level, typologies, names in deps.schedule:
                for typ in typologies:
                    c = _conclude(run, typ)
                    run.conclusions[typ.id] = c
                    if c.value is not None:
                        fact = {"sid": sid, "t": "c", "k": typ.id, "v": c.value, "cf": c.confidence}
                        for name in routes.get(("c", typ.id), ()):
                            if name in waiting:
                                waiting[name].append(fact)
                for fact in run.pending:
                    for name in routes.get(("f", fact["k"]), ()):
                        if name in waiting:
                            waiting[name].append(fact)
                run.pending = []
                for name in names:
                    batch = waiting.pop(name)
                    if not advice and name in compiled.advice_only:
                        continue
                    if not batch and name not in blind:
                        continue  # none of its rules can fire without a fact: skip the engine call
                    # then the pass marker: negation is only judged once all of it is in
                    batch.append({"sid": sid, "t": "L", "n": level})
                    used.append((name, batch))
                    _assert(compiled, run, [name], batch)
                run.absorb()
            failed = False
        finally:
            _clean(compiled, sid, used, failed)
    prods = compiled.productions
    derived_ids = {d.fact for d in run.derived}
    per_typ, overall = (_missing(compiled, profile, set(run.order), derived_ids, missing_per_typology) if missing
                        else ({}, []))
    for tid, c in run.conclusions.items():
        c.missing = per_typ.get(tid, [])
    conclusions = {tid: run.conclusions[tid] for tid in rb.typologies}
    # most specific first: the plans that combine typologies, then class advice, then general guidance
    # (priority, chaining depth, confidence, then the rulebase's order)
    run.ranked.sort()
    return Result(rb, profile, conclusions, [r[-1] for r in run.ranked], run.derived, run.warnings, overall,
                  [prods[i].id for i in run.order])


def source_json(s: Source) -> dict:
    return s.to_json()


__all__ = ["RESERVED_UTTERANCES", "Because", "Conclusion", "Matched", "Result", "StrategyResult", "combine", "infer"]
