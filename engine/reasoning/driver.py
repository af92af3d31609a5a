"""Drive durable_rules' C engine directly: assert facts, then hand each queued action to a callback.

durable_rules' Python layer (`durable.engine.Host`) wraps every queued action in a
Closure, a Promise, a clock reading, a JSON round trip of the session state and an
`update_state` call: about 15-20 µs of Python per firing, more than the C matcher
spends on a whole profile (docs/durable-rules-notes.md, "Cost"). zhike's actions only
record which rule fired on which facts and never change the state, so this driver
asks the engine for each queued action (`start_action_for_state`, then
`complete_and_start_action`) and passes the action's message text on — nothing else.
The rulesets are still created by durable's Host from the compiled definitions; the
matching, the agenda and the firing order are the engine's own (tests/test_driver.py
checks the firings against durable's Host API, message for message).
"""
from __future__ import annotations

from collections.abc import Callable

import durable_rules_engine as _dre
import orjson

# The engine's result codes for an assert or retract (durable.engine.Ruleset._handle_result).
_NOT_HANDLED, _OBSERVED, _QUEUED = 1, 2, 3

OnFire = Callable[[int, str], None]  # (production index, the action's message as JSON text)


class EngineRejected(Exception):
    """The engine refused facts (no rule accepts them, or they were already asserted)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _action_name(message: str) -> str:
    # The engine writes an action as {"<rule name>":{...}}; rule names are [A-Za-z0-9_].
    return message[2:message.index('"', 2)]


class Driver:
    """Assert and retract facts in the rulesets of one Host, running actions as the engine queues them."""

    def __init__(self, host, actions: dict[str, dict[str, int]]):
        """`actions`: ruleset name -> rule name -> the production index its action reports."""
        self._handles = {name: host.get_ruleset(name)._handle for name in actions}
        self._actions = actions

    def assert_facts(self, ruleset: str, facts: list[dict], on_fire: OnFire) -> None:
        handle = self._handles[ruleset]
        self._run(handle, _dre.assert_facts(handle, orjson.dumps(facts).decode()), self._actions[ruleset],
                  on_fire, facts)

    def retract_facts(self, ruleset: str, facts: list[dict], on_fire: OnFire) -> None:
        handle = self._handles[ruleset]
        self._run(handle, _dre.retract_facts(handle, orjson.dumps(facts).decode()), self._actions[ruleset],
                  on_fire, facts)

    @staticmethod
    def _run(handle: int, result: tuple, actions: dict[str, int], on_fire: OnFire, facts: list[dict]) -> None:
        code = result[0]
        if code == _NOT_HANDLED:
            raise EngineRejected(f"Could not handle message: {orjson.dumps(facts).decode()}")
        if code == _OBSERVED:
            raise EngineRejected(f"Message has already been observed: {orjson.dumps(facts).decode()}")
        state = 0 if code == _QUEUED else result[1]
        started = _dre.start_action_for_state(handle, state)
        if not started:
            return
        message, error = started[1], None
        while message:
            if error is None:
                try:
                    on_fire(actions[_action_name(message)], message)
                except Exception as e:
                    # finish the engine's queue before raising: an action left started (or
                    # abandoned mid-queue) leaves the session in a state later calls crash on
                    error = e
            # durable's Host would write the (unchanged) session state back here first; our
            # actions never change it, and the firings are the same without (tests/test_driver.py)
            message = _dre.complete_and_start_action(handle, state)
        if error is not None:
            raise error


__all__ = ["Driver", "EngineRejected", "OnFire"]
