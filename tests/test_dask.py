"""`zhike batch --dask` and engine.batch.classify_dask on a LocalCluster of worker processes.

The same rows give the same bytes as a local run (CSV, XLSX -> CSV, Parquet), a worker killed
mid-run loses no row, and a worker whose rulebase differs from the client's is refused.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import time
from pathlib import Path

import pytest

from conftest import MINI

pytest.importorskip("distributed", reason="the dev extra installs dask[dataframe] and distributed")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

MINI_ARGS = ("--rulebase", str(MINI))
HEADER = ["id", "pace", "guard", "budget", "Notes", "Email"]
ROWS = 240


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.setenv("ZHIKE_LANG", "en")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    c = Client(cluster)
    c.wait_for_workers(2, timeout=120)
    yield c
    c.close()
    cluster.close()


def _rows(n: int, seed: int = 3) -> list[list[str]]:
    """Rows with every kind of cell the mini rulebase reads, a few of them bad ('quick', 'perhaps')."""
    rnd = random.Random(seed)
    return [[str(i), rnd.choice(["fast", "slow", "快", "", "quick"] if i % 17 == 5 else ["fast", "slow", "快", ""]),
             rnd.choice(["yes", "no", "是", "", "perhaps"] if i % 23 == 7 else ["yes", "no", "是", ""]),
             rnd.choice(["", "50", "150", "1.5万"]), rnd.choice(["", "预算不够", "降 10%", "hello", "=1+1"]),
             f"p{i}@example.com"] for i in range(n)]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def _batch(*args: str) -> tuple[int, str]:
    """`zhike batch ARGS` in this process (the CLI as a user runs it, without a new interpreter
    per run): its exit code and stderr."""
    from click.testing import CliRunner

    from cli import main

    r = CliRunner().invoke(main, ["batch", *args])
    return r.exit_code, r.stderr


def _both(tmp_path: Path, src: Path, ext: str, client, *extra: str) -> tuple[Path, Path]:
    """The same command run locally and with --dask; returns the two outputs (rejects beside them)."""
    outs = []
    for name, more in (("local", ()), ("dask", ("--dask", client.scheduler.address))):
        out = tmp_path / f"{name}{ext}"
        code, err = _batch(str(src), "-o", str(out), *MINI_ARGS, *extra, *more)
        assert code in (0, 1), err
        assert "rows in =" in err, err
        outs.append(out)
    return outs[0], outs[1]


def test_csv_gives_the_same_bytes_as_a_local_run(tmp_path, client):
    src = _csv(tmp_path / "in.csv", _rows(ROWS))
    local, dask = _both(tmp_path, src, ".csv", client, "--on-bad-value", "reject", "--ids")
    assert local.read_bytes() == dask.read_bytes()
    rej_local, rej_dask = (p.with_name(p.stem + ".rejects.csv") for p in (local, dask))
    assert rej_local.exists() and rej_local.read_bytes() == rej_dask.read_bytes()
    # every row is somewhere: classified or rejected (header lines aside)
    assert len(local.read_bytes().splitlines()) - 1 + len(rej_local.read_bytes().splitlines()) - 1 == ROWS


def test_xlsx_to_csv_gives_the_same_bytes(tmp_path, client):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年5月客户跟进表"])  # a title row above the header
    ws.append(HEADER)
    for r in _rows(ROWS, seed=5):
        ws.append([int(r[0]), *r[1:3], float(r[3]) if r[3] in ("50", "150") else r[3], *r[4:]])
    src = tmp_path / "in.xlsx"
    wb.save(src)
    local, dask = _both(tmp_path, src, ".csv", client)
    assert local.read_bytes() == dask.read_bytes()
    assert len(local.read_bytes().splitlines()) == ROWS + 1  # blank bad cells: every row classified


def test_parquet_in_and_out_gives_the_same_bytes(tmp_path, client):
    import pyarrow.parquet as pq

    rows = _rows(ROWS, seed=9)
    df = pd.DataFrame(rows, columns=HEADER)
    df["id"] = df["id"].astype("int64")
    src = tmp_path / "in.parquet"
    df.to_parquet(src)
    local, dask = _both(tmp_path, src, ".parquet", client, "--on-bad-value", "reject")
    assert local.read_bytes() == dask.read_bytes()
    out = pq.read_table(local).to_pandas()
    rejects = pq.read_table(local.with_name("local.rejects.parquet")).to_pandas()
    assert len(out) + len(rejects) == ROWS and len(rejects) > 0
    assert out["id"].dtype == "int64"  # a column of whole numbers stays one
    assert set(rejects["_error_code"]) == {"bad-value"}
    assert local.with_name("dask.rejects.parquet").read_bytes() == local.with_name("local.rejects.parquet").read_bytes()


def _settings(rb):
    from engine.batch.classify import Settings, select_columns
    from engine.batch.mapping import MapSpec

    return Settings(rb, MapSpec([]), select_columns(rb, None), "en", 0)


def _classified_locally(n: int, seed: int):
    """Settings, header, `n` rows and their outputs from a local run: what a Dask run must give."""
    from engine.batch.classify import classify_values
    from engine.rules.loader import load_rulebase

    settings = _settings(load_rulebase(MINI))
    cols = tuple(HEADER)
    rows = _rows(n, seed=seed)
    return settings, cols, rows, [o for _, o in classify_values(((i, (cols, r)) for i, r in enumerate(rows)), settings)]


def test_a_worker_killed_mid_run_loses_no_row(client):
    from engine.batch.dask_run import classify_values_dask

    settings, cols, rows, expected = _classified_locally(300, seed=11)
    before = set(client.run(os.getpid).values())
    killed: list[int] = []

    def items():
        for i, r in enumerate(rows):
            if i == 150:  # half way: kill a worker that has work, as an OOM killer or a crash would
                pids = client.run(os.getpid)
                busy = [w for w, keys in client.processing().items() if keys] or list(pids)
                killed.append(pids[busy[0]])
                os.kill(killed[0], signal.SIGKILL)
            yield i, (cols, r)

    got = list(classify_values_dask(items(), settings, client, chunk=5))
    assert [t for t, _ in got] == list(range(300))
    assert [o for _, o in got] == expected
    assert killed and killed[0] in before
    client.wait_for_workers(2, timeout=60)  # its Nanny started it again
    deadline = time.monotonic() + 60
    while killed[0] in set(client.run(os.getpid).values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert killed[0] not in set(client.run(os.getpid).values())


class _Unpicklable:  # a cell value that pickle refuses (Dask's cloudpickle sends it anyway)
    def __reduce__(self):
        raise TypeError("not this one")

    def __str__(self):
        return "fast"


def test_a_chunk_that_cannot_be_pickled_goes_row_by_row(client):
    from engine.batch.dask_run import classify_values_dask

    settings, cols, rows, expected = _classified_locally(12, seed=5)
    rows[7] = [_Unpicklable() if i == 1 else v for i, v in enumerate(rows[7])]
    got = list(classify_values_dask(((i, (cols, r)) for i, r in enumerate(rows)), settings, client, chunk=5))
    assert [t for t, _ in got] == list(range(12))
    assert [o for i, (_, o) in enumerate(got) if i != 7] == [o for i, o in enumerate(expected) if i != 7]
    assert got[7][1][0] is None and "cannot be sent to a worker" in got[7][1][2]  # only the culprit is rejected


def test_a_worker_with_another_rulebase_is_refused(tmp_path, client):
    import shutil

    from engine.batch.dask_run import check_workers, classify_values_dask
    from engine.errors import InputError
    from engine.rules.loader import load_rulebase

    copy = tmp_path / "rb"
    shutil.copytree(MINI, copy)
    rb = load_rulebase(copy)  # what the client runs with
    with open(copy / "facts" / "f.yaml", "a", encoding="utf-8") as fh:
        fh.write("# edited on the workers' side after the client loaded it\n")
    with pytest.raises(InputError, match="another rulebase"):
        check_workers(client, rb)
    items = [(0, (tuple(HEADER), _rows(1)[0]))]
    with pytest.raises(InputError, match=rb.sha256[:12]):
        list(classify_values_dask(iter(items), _settings(rb), client))


def test_classify_dask_matches_classify_dataframe(client):
    import dask.dataframe as dd

    from engine.batch import classify_dask
    from engine.batch.classify import classify_dataframe

    df = pd.DataFrame(_rows(120, seed=13), columns=HEADER)
    ddf = dd.from_pandas(df, npartitions=4)
    got = classify_dask(ddf, str(MINI), lang="en", errors="mark")
    assert "_error" in got.columns  # lazily: the columns are known before anything runs
    got = got.compute()
    want = classify_dataframe(df, str(MINI), lang="en", errors="mark")
    assert list(got.index) == list(df.index)
    for col in want.columns:
        assert got[col].astype(object).where(got[col].notna(), None).tolist() == \
            want[col].astype(object).where(want[col].notna(), None).tolist(), col
    assert got["_error_code"].notna().sum() > 0  # the bad cells are marked, not lost


def test_dask_usage_errors(tmp_path, monkeypatch):
    import engine.batch.dask_run as dr

    src = _csv(tmp_path / "in.csv", _rows(3))
    out = tmp_path / "o.csv"
    code, err = _batch(str(src), "-o", str(out), *MINI_ARGS, "--dask", "local:0")
    assert code == 2 and "local:N" in err and not out.exists()
    code, err = _batch(str(src), "-o", str(out), *MINI_ARGS, "--dask", "local:2", "--workers", "2")
    assert code == 2 and "choose one" in err
    monkeypatch.setattr(dr, "CONNECT_SECONDS", 1)  # a refused connection is retried until then
    code, err = _batch(str(src), "-o", str(out), *MINI_ARGS, "--dask", "tcp://127.0.0.1:1")
    assert code == 2 and "cannot reach the Dask scheduler" in err and "Traceback" not in err and not out.exists()
