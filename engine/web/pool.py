"""A pool of compiled rulebases, so no compiled rulebase is ever used by two threads at once.

durable_rules is not thread safe and a compiled rulebase holds one engine session,
so a request checks one out for the time of its inference and returns it. With N
compiled rulebases (`--workers-pool N`, default 4) up to N requests reason at the
same time; the others wait in the queue, and nothing else in the server waits for
them (pages, static files and the database do not need a rulebase). The first one
is compiled before the server says it is ready; the others when first needed.

The validated `Rulebase` itself is read-only once loaded and shared by all.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..reasoning.compiler import CompiledRulebase, compile_rulebase
from ..rules.loader import load_rulebase
from ..rules.model import Rulebase

DEFAULT_POOL = 4


class RulebasePool:
    def __init__(self, rulebase: Path | Rulebase, size: int = DEFAULT_POOL) -> None:
        self.rulebase: Rulebase = rulebase if isinstance(rulebase, Rulebase) else load_rulebase(rulebase)
        self.size = max(1, size)
        self._idle: queue.SimpleQueue[CompiledRulebase] = queue.SimpleQueue()
        self._all: list[CompiledRulebase] = []
        self._reserved = 1  # compiled, or being compiled
        self._lock = threading.Lock()  # guards the count and compiling (durable_rules registers rulesets process-wide)
        self._idle.put(self._compile())

    def _compile(self) -> CompiledRulebase:
        with self._lock:
            compiled = compile_rulebase(self.rulebase)
            self._all.append(compiled)
            return compiled

    def _reserve(self) -> bool:
        with self._lock:
            if self._reserved >= self.size:
                return False
            self._reserved += 1
            return True

    @property
    def compiled_count(self) -> int:
        return len(self._all)

    @contextmanager
    def checkout(self) -> Iterator[CompiledRulebase]:
        """A compiled rulebase for this thread alone, returned to the pool afterwards."""
        try:
            compiled = self._idle.get_nowait()
        except queue.Empty:
            compiled = self._compile() if self._reserve() else self._idle.get()
        try:
            yield compiled
        finally:
            self._idle.put(compiled)

    def close(self) -> None:
        with self._lock:
            for compiled in self._all:
                compiled.close()
            self._all.clear()
