"""How many rows of each prospect sheet get a next best action: a specific one, the qualify-first
fallback (guidance.qualify_first), or none.

    .venv/bin/python scripts/action_coverage.py                      # tests/fixtures/sheets*/ (all sheets)
    .venv/bin/python scripts/action_coverage.py a.csv b.xlsx --rulebase DIR

Each sheet runs through `zhike batch` as a user would run it (no --map, --lang zh); the output's
下一步最佳行动 column is compared with the fallback's one-line summary.
"""
from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FALLBACK = "guidance.qualify_first"
SHEETS = ("tests/fixtures/sheets_heldout", "tests/fixtures/sheets")
SUFFIXES = (".csv", ".xlsx", ".txt")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sheets", nargs="*", type=Path)
    ap.add_argument("--rulebase", type=Path, default=ROOT / "rulebase")
    args = ap.parse_args(argv)
    from engine.rules.loader import load_rulebase

    rb = load_rulebase(args.rulebase)
    fb = next((s for s in rb.strategies if s.id == FALLBACK), None)
    fallback = " ".join(fb.summary.zh.split()) if fb is not None and fb.summary else None
    sheets = args.sheets or [p for d in SHEETS for p in sorted((ROOT / d).iterdir()) if p.suffix in SUFFIXES]
    zhike = Path(sys.executable).parent / "zhike"
    total = [0, 0, 0, 0]
    print(f"{'sheet':40} {'rows':>5} {'specific':>9} {'fallback':>9} {'none':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for sheet in sheets:
            out = Path(tmp) / "out.csv"
            r = subprocess.run([str(zhike), "batch", str(sheet), "-o", str(out), "--lang", "zh",
                                "--rulebase", str(args.rulebase)], capture_output=True, text=True)
            if r.returncode not in (0, 1):
                print(f"{sheet.name}: {r.stderr.strip()}", file=sys.stderr)
                continue
            rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
            actions = [" ".join((row.get("下一步最佳行动") or "").split()) for row in rows]
            n = len(actions)
            specific = sum(1 for a in actions if a and a != fallback)
            fell = sum(1 for a in actions if a and a == fallback)
            none = n - specific - fell
            for i, v in enumerate((n, specific, fell, none)):
                total[i] += v
            print(f"{sheet.parent.name + '/' + sheet.name:40} {n:5} {specific:9} {fell:9} {none:5}")
    n, specific, fell, none = total
    print(f"{'total':40} {n:5} {specific:9} {fell:9} {none:5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
