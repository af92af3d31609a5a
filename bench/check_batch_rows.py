"""No row lost at scale: a synthetic list with planted bad rows through `zhike batch`, end to end.

Run: .venv/bin/python bench/check_batch_rows.py [--rows 100000] [--bad 0.01] [--workers 2] [--seed 1]

Generates the benchmark's prospect list (bench_batch.generate) with about
--bad of the rows made bad (a wrong number of cells, bytes that are not UTF-8,
or a value its fact does not allow), runs `zhike batch` with --rejects, and checks that the output holds
exactly the good rows and the rejects exactly the planted ones, in order, that
the counts add up and that the exit code is 1. Prints the time it took.
Exits non-zero if any check fails. A script, not a test: it takes minutes.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_batch import ROOT, ZHIKE, generate

from engine.rules.loader import load_rulebase


def ids(path: Path, encoding: str = "utf-8-sig") -> list[int]:
    with open(path, newline="", encoding=encoding, errors="replace") as fh:
        rows = csv.reader(fh)
        head = next(rows)
        i = head.index("Record ID")
        return [int(r[i]) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--bad", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rulebase", default=str(ROOT / "rulebase"))
    args = ap.parse_args()
    rb = load_rulebase(args.rulebase)
    tmp = Path(tempfile.mkdtemp(prefix="zhike-check-"))
    src, out, rej = tmp / "in.csv", tmp / "out.csv", tmp / "rejects.csv"
    planted = generate(rb, args.rows, args.seed, src, bad=args.bad)
    print(f"{args.rows:,} rows, {len(planted):,} planted bad; running zhike batch --workers {args.workers}", flush=True)
    t = time.perf_counter()
    r = subprocess.run([ZHIKE, "batch", str(src), "-o", str(out), "--rejects", str(rej), "--workers",
                        str(args.workers), "--rulebase", args.rulebase], capture_output=True, text=True)
    dt = time.perf_counter() - t
    print(r.stderr.strip())
    print(f"{dt:.1f} s, {args.rows / dt:,.0f} rows/s")
    got_out, got_rej = ids(out), ids(rej, "utf-8")
    checks = {
        "exit code 1 (some rows rejected)": r.returncode == 1,
        "output + rejects = input": len(got_out) + len(got_rej) == args.rows,
        "rejects are exactly the planted rows": got_rej == sorted(planted),
        "output is exactly the other rows, in order": got_out == [i for i in range(args.rows) if i not in planted],
        "summary line adds up": f"{args.rows:,} rows in = {args.rows - len(planted):,} classified + "
                                f"{len(planted):,} rejected" in r.stderr,
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
