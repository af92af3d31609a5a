"""What understanding the customer's words costs: batch throughput with an utterance in every row,
and a cold `zhike classify`, against an older zhike (e.g. the commit before the words layer).

Run: .venv/bin/python bench/bench_words.py --against /tmp/zhike-old [--rows 2000] [--runs 7]

  --against DIR   a checkout (or `git archive` export) of the zhike to compare with; it is run with
                  PYTHONPATH=DIR and its own rulebase/ (same venv). Without it, only this tree is timed.

Prints for each tree: rows/s of the library (engine.batch.classify_records, rows in memory, one
worker, result cache off) on --rows rows that each carry one customer utterance (drawn from
rulebase/corpus/train) and a few facts; the median wall time of `zhike classify` on the bundled
example over --runs runs (new process each time, zhike's cache warm). Then the ratios: the target is
throughput ≥ 0.75× the older tree and a cold classify under 1 s. A figure, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_WORKER = r"""
import json, sys, time
from pathlib import Path
rulebase = Path(sys.argv[1]); rows = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
from engine.batch.classify import classify_records
from engine.reasoning.compiler import compile_rulebase
from engine.rules.loader import load_rulebase
compiled = compile_rulebase(load_rulebase(rulebase))
list(classify_records(rows[:50], compiled=compiled, cache_size=0))  # warm: first matches load what they need
t = time.perf_counter()
n = sum(1 for _ in classify_records(rows, compiled=compiled, cache_size=0))
print(json.dumps({"rows": n, "seconds": time.perf_counter() - t}))
"""


def _utterances() -> list[str]:
    import yaml

    out = []
    for p in sorted((ROOT / "rulebase" / "corpus" / "train").glob("*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        out += [str(i["said"]) for i in data.get("items") or [] if isinstance(i, dict) and i.get("said")]
    return out or ["太贵了,再便宜点我们考虑", "我们要跟老板商量一下", "预算今年已经用完了"]


def _rows(n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    said = _utterances()
    facts = [("has_money", ["是", "否"]),
             ("has_authority", ["是", "否"]), ("has_need", ["是", "否"])]
    rows = []
    for i in range(n):
        row = {"name": f"客户{i}", "utterances": rnd.choice(said)}
        for fid, values in rnd.sample(facts, 2):
            row[fid] = rnd.choice(values)
        rows.append(row)
    return rows


def throughput(tree: Path, rulebase: Path, rows_file: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", _WORKER, str(rulebase), str(rows_file)], env=env, cwd=tree,
                         capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"bench_words: the run in {tree} failed:\n{out.stderr[-2000:]}")
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return d["rows"] / d["seconds"]


def cold_classify(tree: Path, rulebase: Path, runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", "classify",
           str(tree / "examples" / "tiger-price.yaml"), "--rulebase", str(rulebase)]
    subprocess.run(cmd, env=env, cwd=tree, capture_output=True, check=False)  # warm zhike's own cache
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=tree, capture_output=True, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", type=Path)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rulebase", choices=("own", "older"), default="own",
                    help="each tree with its own rulebase (default), or both with the older tree's")
    a = ap.parse_args()
    rows_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"zhike-bench-words-{os.getpid()}.json"
    rows_file.write_text(json.dumps(_rows(a.rows, a.seed), ensure_ascii=False), encoding="utf-8")
    try:
        trees = [("this tree", ROOT)] + ([("older", a.against.resolve())] if a.against else [])
        figures = {}
        for name, tree in trees:
            rb = (a.against.resolve() if a.rulebase == "older" and a.against else tree) / "rulebase"
            rps, cold = throughput(tree, rb, rows_file), cold_classify(tree, rb, a.runs)
            figures[name] = (rps, cold)
            print(f"{name:10} {tree}: {rps:8.1f} rows/s with an utterance in every row; "
                  f"cold classify median {cold:.2f} s")
        if a.against:
            (new_rps, new_cold), (old_rps, old_cold) = figures["this tree"], figures["older"]
            print(f"throughput ratio this/older: {new_rps / old_rps:.2f} (target >= 0.75); "
                  f"cold classify ratio: {new_cold / old_cold:.2f}; this tree's cold classify "
                  f"{new_cold:.2f} s (target < 1 s)")
    finally:
        rows_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
