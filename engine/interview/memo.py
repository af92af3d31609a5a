"""The look-ahead's memo, kept small and carried between processes.

The ranking (ranking.py) remembers, per candidate fact, the answers it simulated, in which state,
and what inference made of each (an `Outcome`). Two things here:

- `slim`: what an outcome keeps of a hypothetical run — the conclusions' values, confidences and
  scores, which is all the texts about an outcome show. Outcomes stay in memory between answers and
  in every interview a web server keeps; whole explanations would be ~10,000 objects per interview
  for the garbage collector to walk (measured: full collections of 100-300 ms with 40 interviews
  kept, a few per hundred answers).
- `dump_memo` / `load_memo`: the memo as compressed JSON, so that a web server process that did not
  take an interview's last answer (`zhike serve --workers N`) goes on from it instead of simulating
  everything again; with it, the questions asked do not depend on which process answers. Reuse stays
  exact: an outcome is used only while nothing that changed since its state can reach it.
"""
from __future__ import annotations

import zlib
from typing import Any

import orjson

from ..reasoning.inference import Conclusion, Result
from ..reasoning.profile import Profile
from ..rules.model import Rulebase
from .candidates import Outcome

Memo = dict[str, tuple[dict, list[Any], list[Outcome]]]  # fact -> (state simulated in, answers, outcomes)
Joint = dict[str, tuple[dict, bool]]  # fact -> (state checked in, whether it matters with others)

_NO_PROFILE = Profile({}, [], "")
_UNDECIDED: dict[tuple[int, str | None], Conclusion] = {}


def slim(result: Result) -> Result:
    """The conclusions of a hypothetical run, without explanations (see the module's docstring)."""
    conclusions = {tid: (_undecided(c.typology, c.reason) if c.value is None and not c.scores else
                         Conclusion(c.typology, c.value, c.confidence, tuple(c.scores), (), c.reason, ()))  # type: ignore[arg-type]
                   for tid, c in result.conclusions.items()}
    return Result(result.rulebase, result.profile, conclusions, (), (), (), (), ())  # type: ignore[arg-type]


def _undecided(typ: Any, reason: str | None) -> Conclusion:
    """One shared, read-only conclusion per typology with no evidence at all (most of them, most of the time)."""
    key = (id(typ), reason)
    shared = _UNDECIDED.get(key)
    if shared is None or shared.typology is not typ:
        shared = _UNDECIDED[key] = Conclusion(typ, None, 0.0, (), (), reason, ())  # type: ignore[arg-type]
    return shared


def dump_memo(goals: list[str], memo: Memo, joint: Joint) -> bytes:
    """The memo as bytes: states, answers, and per outcome the goals' conclusions (all that is read of them)."""
    wanted = set(goals)

    def outcome(o: Outcome) -> list:
        kept = {g: [c.value, c.confidence, c.scores, c.reason] for g, c in o.result.conclusions.items()
                if g in wanted and (c.value is not None or c.scores)}
        return [o.value, o.gains, o.movement, o.lift, kept]

    data = {"memo": {f: [state, values, [outcome(o) for o in outs]] for f, (state, values, outs) in memo.items()},
            "joint": {f: [state, found] for f, (state, found) in joint.items()}}
    return zlib.compress(orjson.dumps(data), 1)


def load_memo(rb: Rulebase, blob: bytes | None) -> tuple[Memo, Joint] | None:
    """The memo `dump_memo` wrote, for the same rulebase; None for anything missing or unreadable."""
    if not blob:
        return None
    try:
        data = orjson.loads(zlib.decompress(blob))
        typs = rb.typologies
        memo: Memo = {}
        for f, (state, values, outs) in data["memo"].items():
            outcomes = []
            for value, gains, movement, lift, kept in outs:
                conclusions = {tid: _undecided(t, "insufficient evidence") for tid, t in typs.items()}
                for g, (v, conf, scores, reason) in kept.items():
                    conclusions[g] = Conclusion(typs[g], v, conf, tuple(tuple(x) for x in scores), (),  # type: ignore[arg-type]
                                                reason, ())  # type: ignore[arg-type]
                result = Result(rb, _NO_PROFILE, conclusions, (), (), (), (), ())  # type: ignore[arg-type]
                outcomes.append(Outcome(value, result, gains, movement, lift))
            memo[f] = (_thawed(state), values, outcomes)
        joint = {f: (_thawed(state), bool(found)) for f, (state, found) in data["joint"].items()}
    except Exception:  # a cache: whatever is wrong with it, the look-ahead simply starts afresh
        return None
    return memo, joint


def _thawed(state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot read back from JSON: lists were tuples (ranking._snapshot)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in state.items()}
