"""`zhike serve` under load: many reps running interviews at once through the API, over real HTTP.

Run: .venv/bin/python bench/bench_serve.py [--reps 50] [--interviews 2000] [--max-seconds 300]
                                          [--think 5] [--workers 2] [--workers-pool N] [--seed 1] [--url URL]

The script starts a real server (`zhike serve --port 0 --data TMP`, the installed command) on
127.0.0.1, unless --url points at one already running, and runs --reps simulated reps at once, each
an httpx client in its own thread (keep-alive, as a browser would). A rep starts an interview,
answers the question the server asks with a random valid value read off GET /api/v1/facts (about
one in five answers is instead something the customer said; one in ten is "don't know"; one in
thirty is "back"), stops after 4–20 answers (--answers) or when the interview ends, and fetches the
report as JSON. `--think S` makes each rep wait about S seconds (uniform 0.5S–1.5S) before each request, as a
rep reading the question and asking the customer does (default 5: the target's "50 reps" are people);
`--think 0` sends the next request as soon as the last returned — 50 clients hammering, a saturation
test that shows the most the server takes (about 48 requests/s on 2 cores) rather than a rep's wait.

It stops after --interviews interviews or --max-seconds, whichever comes first (at the time limit
the interviews under way are cut off after their current request, and counted), and prints: the server's CPU time
per request (from /proc: a figure that does not grow when other processes share the machine),
throughput (interviews and requests per second), p50/p95/p99/max latency per endpoint (the target: p95 < 150 ms for answer → next question), the
errors (any non-2xx or failed request; target 0, the first few shown), and the server's resident
memory (VmRSS of the process and its children, from /proc) at the start and after every 1,000
interviews, so that `--interviews 10000` shows whether memory stays flat.
A figure, not a test: no test asserts a timing.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1"
UTTERANCES = ["太贵了", "留个电话,有需要再联系", "我们再考虑考虑", "预算没这么高", "我很忙", "XX家便宜不少,再降30%",
              "It's good but we have no budget", "we already have one", "just send me the brochure", "嗯,好的",
              "<script>alert(1)</script> {{ 7*7 }}"]
TARGET_P95_MS = 150.0


# -- the server ------------------------------------------------------------------------------------------
def start_server(data: Path, extra: list[str]) -> tuple[subprocess.Popen, str, float]:
    exe = Path(sys.executable).parent / "zhike"
    cmd = [str(exe)] if exe.exists() else [sys.executable, str(ROOT / "cli.py")]
    cmd += ["serve", "--port", "0", "--data", str(data), *extra]
    out_path, err_path = data.parent / "serve.stdout", data.parent / "serve.stderr"
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT)
    while True:
        found = re.search(r"http://\S+", out_path.read_text(encoding="utf-8", errors="replace"))
        if found:
            return proc, found.group(0).rstrip("/"), time.monotonic() - t0
        if proc.poll() is not None or time.monotonic() - t0 > 60:
            proc.kill()
            sys.exit(f"bench_serve: the server did not start:\n{err_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.01)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (uvicorn workers, if any), in MiB."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children[int(fields[1])].append(int(entry))
            except OSError:
                continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the server process and its children have used, in seconds."""
    total, todo, seen = 0.0, [pid], set()
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    children[int(f.read().rsplit(")", 1)[1].split()[1])].append(int(entry))
            except OSError:
                continue
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except OSError:
            continue
    return total


# -- the reps ------------------------------------------------------------------------------------------
class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.error_count = 0
        self.started = 0  # interviews begun
        self.finished = 0  # interviews that reached their report
        self.answers = 0
        self.cut_off = 0  # interviews under way when --max-seconds ran out

    def take(self, limit: int, deadline: float) -> bool:
        """May a rep start another interview?"""
        with self.lock:
            if self.started >= limit or time.monotonic() >= deadline:
                return False
            self.started += 1
            return True

    def record(self, endpoint: str, ms: float) -> None:
        with self.lock:
            self.latency[endpoint].append(ms)

    def error(self, what: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 10:
                self.errors.append(what)


def a_valid_value(fact: dict, rng: random.Random):
    kind, values = fact["type"], fact.get("values") or []
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "enum":
        return rng.choice(values)
    if kind == "list":
        return rng.sample(values, k=min(len(values), rng.randint(1, 3)))
    lo, hi = fact.get("min"), fact.get("max")
    lo = 0 if lo is None else lo
    hi = lo + 50 if hi is None else min(hi, lo + 50)
    return rng.randint(int(lo), int(hi))


class Rep(threading.Thread):
    def __init__(self, n: int, base: str, facts: dict, stats: Stats, args: argparse.Namespace, deadline: float,
                 headers: dict) -> None:
        super().__init__(name=f"rep-{n}", daemon=True)
        self.rng = random.Random(args.seed * 1000 + n)
        # An idle connection is dropped before the server's keep-alive timeout (uvicorn: 5 s) can close it
        # under a request (a browser retries such a request; httpx does not).
        self.client = httpx.Client(base_url=base, timeout=60, headers=headers,
                                   limits=httpx.Limits(keepalive_expiry=2.0))
        self.facts, self.stats, self.args, self.deadline = facts, stats, args, deadline

    def call(self, endpoint: str, method: str, path: str, **kw) -> dict | None:
        if self.args.think:
            time.sleep(self.rng.uniform(0.5, 1.5) * self.args.think)
        t0 = time.perf_counter()
        try:
            r = self.client.request(method, path, **kw)
        except httpx.HTTPError as e:
            self.stats.error(f"{endpoint}: {type(e).__name__}: {e}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        if r.status_code >= 300:
            self.stats.error(f"{endpoint}: HTTP {r.status_code}: {r.text[:200]}")
            return None
        self.stats.record(endpoint, ms)
        try:
            return r.json()
        except ValueError:
            self.stats.error(f"{endpoint}: not JSON: {r.text[:200]}")
            return None

    def run(self) -> None:
        with self.client:
            while self.stats.take(self.args.interviews, self.deadline):
                self.interview()

    def interview(self) -> None:
        rng = self.rng
        doc = self.call("POST /interviews", "POST", f"{API}/interviews", json={"lang": rng.choice(["zh", "en"])})
        if doc is None:
            return
        iid = doc["id"]
        path = f"{API}/interviews/{iid}"
        length = rng.randint(*self.args.answers)
        answered = 0
        while doc is not None and doc.get("question") and answered < length:
            if time.monotonic() >= self.deadline:  # the time bound is hard: an interview under way is cut off
                with self.stats.lock:
                    self.stats.cut_off += 1
                return
            fact = doc["question"]["fact"]
            roll = rng.random()
            if roll < 1 / 30 and answered:
                doc = self.call("POST back", "POST", f"{path}/back")
                continue
            if roll < 0.13:
                doc = self.call("POST skip", "POST", f"{path}/skip")
            elif roll < 0.33 or fact == "utterances":
                doc = self.call("POST answer", "POST", f"{path}/answers", json={"utterance": rng.choice(UTTERANCES)})
            else:
                value = a_valid_value(self.facts[fact], rng)
                doc = self.call("POST answer", "POST", f"{path}/answers", json={"fact": fact, "value": value})
            answered += 1
            with self.stats.lock:
                self.stats.answers += 1
        if rng.random() < 0.1:
            self.call("GET interview", "GET", path)
        report = self.call("GET report", "GET", f"{path}/report", params={"format": "json"})
        if report is not None:
            if "conclusions" not in report:
                self.stats.error("GET report: no conclusions in the JSON report")
            with self.stats.lock:
                self.stats.finished += 1


# -- the figures ---------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def report(stats: Stats, elapsed: float, memory: list[tuple[int, float]], args: argparse.Namespace,
           cpu: float | None) -> int:
    total = sum(len(v) for v in stats.latency.values())
    print(f"\n{stats.finished} interviews to the report ({stats.started} begun, {stats.cut_off} cut off by "
          f"--max-seconds), {stats.answers} answers, {total} requests in {elapsed:.1f} s")
    print(f"throughput: {stats.finished / elapsed:.1f} interviews/s, {total / elapsed:.1f} requests/s "
          f"({args.reps} reps, think {args.think:g} s)")
    if cpu is not None and total:
        print(f"server CPU: {cpu:.1f} s over the run ({cpu / elapsed:.2f} cores busy on average), "
              f"{cpu / total * 1000:.1f} ms per request; machine load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
    print(f"\n{'endpoint':<18}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for endpoint in sorted(stats.latency):
        v = stats.latency[endpoint]
        print(f"{endpoint:<18}{len(v):>8}{statistics.median(v):>9.1f}{pct(v, 95):>9.1f}{pct(v, 99):>9.1f}"
              f"{max(v):>9.1f}")
    print(f"\nerrors: {stats.error_count}")
    for e in stats.errors:
        print(f"  {e}")
    print("\nserver memory (VmRSS, process and children):")
    for done, mib in memory:
        print(f"  after {done:>6} interviews: {mib:7.1f} MiB")
    if len(memory) >= 3:
        print(f"  last / first after warm-up (1,000 interviews): {memory[-1][1] / memory[1][1]:.2f}×")
    answer = stats.latency.get("POST answer", [])
    verdict = answer and pct(answer, 95) < TARGET_P95_MS and stats.error_count == 0
    print(f"\nanswer → next question p95 {pct(answer, 95) if answer else float('nan'):.1f} ms "
          f"(target < {TARGET_P95_MS:.0f} ms), errors {stats.error_count} (target 0): "
          f"{'met' if verdict else 'NOT met'}")
    return 0 if stats.error_count == 0 else 1


def _span(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    span = (int(lo), int(hi or lo))
    if not 1 <= span[0] <= span[1]:
        raise argparse.ArgumentTypeError("MIN-MAX with 1 <= MIN <= MAX")
    return span


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=50, help="simulated reps at once (default 50)")
    ap.add_argument("--interviews", type=int, default=2000, help="interviews to run in all (default 2000)")
    ap.add_argument("--max-seconds", type=float, default=300, help="stop starting interviews after this (default 300)")
    ap.add_argument("--think", type=float, default=5.0,
                    help="a rep's mean pause before each request, s (default 5; 0 = saturation test)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="server processes, passed to zhike serve (default: one per CPU, as docs/web.md advises "
                         "for a team)")
    ap.add_argument("--workers-pool", type=int, default=None, help="passed to zhike serve")
    ap.add_argument("--rulebase", default=None, help="passed to zhike serve")
    ap.add_argument("--answers", type=_span, default=(4, 20), metavar="MIN-MAX",
                    help="answers per interview before the report, at most (default 4-20; fewer if it ends)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--url", default=None, help="an already running server (memory is then not measured)")
    ap.add_argument("--token", default=None, help="bearer token for a server started with --token-file")
    args = ap.parse_args(argv)

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    proc, tmp = None, None
    if args.url:
        base = args.url.rstrip("/")
    else:
        tmp = tempfile.TemporaryDirectory(prefix="zhike-bench-serve-")
        data = Path(tmp.name) / "data"
        data.mkdir()
        extra = ["--workers", str(args.workers)] + \
                (["--workers-pool", str(args.workers_pool)] if args.workers_pool else []) + \
                (["--rulebase", args.rulebase] if args.rulebase else [])
        proc, base, started_in = start_server(data, extra)
        print(f"server: {base} (pid {proc.pid}, --workers {args.workers}), printed its URL {started_in:.2f} s "
              f"after the start")
    try:
        with httpx.Client(base_url=base, timeout=30, headers=headers) as c:
            c.get(f"{API}/health").raise_for_status()
            facts = {f["id"]: f for f in c.get(f"{API}/facts").raise_for_status().json()}
        memory = [(0, rss_mib(proc.pid))] if proc else []
        cpu0 = cpu_seconds(proc.pid) if proc else None
        stats = Stats()
        t0 = time.monotonic()
        deadline = t0 + args.max_seconds
        reps = [Rep(n, base, facts, stats, args, deadline, headers) for n in range(args.reps)]
        for rep in reps:
            rep.start()
        next_mark, last_print = 1000, t0
        while any(rep.is_alive() for rep in reps):
            time.sleep(0.2)
            if proc and stats.finished >= next_mark:
                memory.append((next_mark, rss_mib(proc.pid)))
                next_mark += 1000
            if time.monotonic() - last_print >= 10:
                last_print = time.monotonic()
                print(f"  {last_print - t0:5.0f} s: {stats.finished} interviews, {stats.answers} answers, "
                      f"{stats.error_count} errors", flush=True)
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0 if proc and cpu0 is not None else None
        if proc:
            memory.append((stats.finished, rss_mib(proc.pid)))
        return report(stats, elapsed, memory, args, cpu)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
