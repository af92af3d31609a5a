"""What the ranking works with and hands out: candidates, simulated outcomes, questions, status."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..reasoning.inference import Result
from ..rules.model import FactDef, Rule


@dataclass
class Outcome:
    """One hypothetical answer and what inference made of it."""

    value: Any
    result: Result
    gains: dict[str, float]  # goal -> change in how settled it is
    movement: float  # how much the evidence the goals depend on moved
    lift: dict[str, float] = field(default_factory=dict)  # goal -> rise of its best-rising class


@dataclass
class Question:
    fact: FactDef
    goals: list[str]  # goals the answer can still change
    rules: list[Rule]  # unfired rules it feeds, strongest first
    paths: dict[str, list[tuple[str, str]]]  # rule -> typologies / derived facts on the way to a goal
    outcomes: list[Outcome]  # simulated answers (empty if not simulated)
    score: float
    remaining: int  # about how many questions are left, this one included
    previous: Any = None  # the answer before `back`, if any
    relevant: frozenset[str] = frozenset()  # every fact that could still matter when it was chosen
    opens: list[str] = field(default_factory=list)  # a context question: the facts whose applicability it decides
    for_action: bool = False  # asked because the goals are done but no next best action has come out yet


@dataclass
class Status:
    settled: list[str]  # goals concluded with enough confidence
    unsettled: list[str]
    reason: str  # "confident" (every goal settled) | "exhausted" (nothing relevant left) | "asking"


@dataclass
class Candidate:
    fact: str
    goals: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    prior: float = 0.0
    values: list[Any] | None = None
    null_outcome: bool = False  # free text: "nothing that matters was said" is one of the outcomes
    outcomes: list[Outcome] = field(default_factory=list)
    gains: dict[str, float] = field(default_factory=dict)
    lift: dict[str, float] = field(default_factory=dict)  # goal -> mean rise of its best-rising class
    tests: dict[str, list[str]] = field(default_factory=dict)  # rule -> its facts that still matter
    score: float = 0.0
    effect: bool | None = None  # None: not simulated (or nothing to simulate)
    opens: list[str] = field(default_factory=list)  # a gate: the relevant facts waiting for its answer
