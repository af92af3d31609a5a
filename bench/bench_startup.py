"""Cold start of the `zhike` command: `zhike --help` and `zhike classify` on the bundled example.

Run: .venv/bin/python bench/bench_startup.py [--runs 15]
Prints median / p95 / min per command and the ratio to its target
(--help < 0.3 s, classify < 1 s on the reference 2-core machine).
A figure, not a test: timing never decides a test's outcome.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZHIKE = str(Path(sys.executable).parent / "zhike")


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--profile", default="examples/tiger-price.yaml")
    args = ap.parse_args()
    cases = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"], None),
        ("zhike --help", [ZHIKE, "--help"], 0.3),
        ("zhike classify (text)", [ZHIKE, "classify", args.profile], 1.0),
        ("zhike classify --format html", [ZHIKE, "classify", args.profile, "--format", "html"], 1.0),
        ("zhike classify --format json", [ZHIKE, "classify", args.profile, "--format", "json"], 1.0),
    ]
    print(f"{'command':34} {'median':>8} {'p95':>8} {'min':>8}  target  ratio")
    for name, cmd, target in cases:
        ts = sorted(timed(cmd, args.runs))
        med = statistics.median(ts)
        p95 = ts[min(len(ts) - 1, round(0.95 * (len(ts) - 1)))]
        tgt = f"{target:5.2f}s  {med / target:4.2f}x" if target else ""
        print(f"{name:34} {med:7.3f}s {p95:7.3f}s {ts[0]:7.3f}s  {tgt}")


if __name__ == "__main__":
    main()
