"""Classify every example and golden case and print one JSON document per line, keyed by case.

Used to prove a refactoring changes no output: run it before and after and
compare (`python scripts/json_snapshot.py > before.jsonl`, … `> after.jsonl`,
`cmp before.jsonl after.jsonl`). Both languages, the exact `classify
--format json` document.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from engine import compile_rulebase, infer, load_profile, load_rulebase, to_json

    try:
        from engine.trainer.casetest import check_cases
    except ImportError:  # before the layered move
        from engine.trainer.casetest import check_cases

    import os

    os.chdir(ROOT)  # relative paths: the documents must not depend on where the checkout is
    rb = load_rulebase(Path("rulebase"))
    items = [(f"example:{p.name}", load_profile(str(p), rb)) for p in sorted(Path("examples").glob("*.yaml"))]
    cases = check_cases(rb)
    cases = cases[0] if isinstance(cases, tuple) else cases
    items += [(f"case:{c.pos.file}:{c.pos.line}:{c.name}", c.profile) for c in cases]
    with compile_rulebase(rb) as compiled:
        for key, profile in items:
            result = infer(compiled, profile)
            for lang in ("zh", "en"):
                doc = to_json(result, lang)
                sys.stdout.write(json.dumps({"key": key, "lang": lang, "json": doc}, ensure_ascii=False,
                                            sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
