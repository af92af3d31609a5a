"""Attack 12 (batch side): one row that raises must be that row's error, never the run's.

Before: a 400-digit integer raised OverflowError out of `zhike batch` (the whole
run lost) and out of `classify_records(..., errors="mark")`; so did any cell whose
conversion raised, or a value nested too deeply (RecursionError, in-process or
while pickling it for a worker).
"""
from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import MINI, zhike

BIG = 10 ** 400


class Boom:
    """A cell object (from a user's own data) whose every conversion raises."""

    def _raise(self, *args):
        raise RuntimeError("boom")

    __str__ = __repr__ = __float__ = __int__ = __index__ = __format__ = __bool__ = _raise


def _deep(n: int = 100_000) -> list:
    v: list = []
    for _ in range(n):
        v = [v]
    return v


@pytest.mark.parametrize("workers", [1, 2])
def test_mark_rejects_rows_that_raise_and_classifies_the_rest(mini_rb, workers):
    from engine.batch.classify import classify_records

    bad = [{"pace": "fast", "budget": BIG}, {"pace": Boom()}, {"pace": "fast", "Notes": Boom()},
           {"pace": "fast", "budget": _deep()}, ["not", "a", "mapping"], None]
    records = []
    for i, b in enumerate(bad):
        records.append({"pace": "fast", "id": i})
        records.append(b)
    records.append({"pace": "fast", "id": len(bad)})
    out = list(classify_records(records, mini_rb, errors="mark", workers=workers, columns=["social_style"]))
    assert len(out) == len(records)
    good, marked = out[0::2], out[1::2]
    assert [o["id"] for o in good] == list(range(len(bad) + 1))
    assert all(o["social_style"] == "tiger" and "_error" not in o for o in good)
    for o in marked:
        assert o["social_style"] is None
        assert o["_error_code"] in ("bad-value", "bad-record"), o
        assert o["_error"] and "\n" not in o["_error"] and len(o["_error"]) < 400, o["_error"]
    assert "budget" in marked[0]["_error"] and "too large" in marked[0]["_error"]
    assert "pace" in marked[1]["_error"] and "boom" in marked[1]["_error"]
    assert "Notes" in marked[2]["_error"]
    assert "deep" in marked[3]["_error"]
    assert marked[4]["_error_code"] == marked[5]["_error_code"] == "bad-record"


def test_raise_gives_a_row_error_not_the_raw_exception(mini_rb):
    from engine.batch.classify import RowError, classify_records

    for bad in ({"budget": BIG}, {"pace": Boom()}, None):
        with pytest.raises(RowError, match=r"^row 2: "):
            list(classify_records([{"pace": "fast"}, bad], mini_rb))


@pytest.mark.parametrize(("fmt", "workers"), [("csv", "1"), ("jsonl", "1"), ("jsonl", "2")])
def test_a_400_digit_number_in_a_batch_is_one_rejected_row(tmp_path, fmt, workers):
    rows = [{"id": str(i), "pace": "fast", "budget": "50"} for i in range(30)]
    rows[7]["budget"] = str(BIG)
    src = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        s = io.StringIO()
        w = csv.DictWriter(s, ["id", "pace", "budget"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        src.write_text(s.getvalue(), encoding="utf-8")
    else:  # a JSON number, as a CRM export would write it: json gives Python a 400-digit int
        src.write_text("".join(json.dumps({**r, "budget": int(r["budget"])}) + "\n" for r in rows), encoding="utf-8")
    out, rej = tmp_path / f"out.{fmt}", tmp_path / f"rej.{fmt}"
    r = zhike("batch", str(src), "-o", str(out), "--rejects", str(rej), "--workers", workers, "--rulebase", str(MINI),
              "--on-bad-value", "reject", "--ids")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1, r.stderr  # some rows rejected
    assert "30 rows in = 29 classified + 1 rejected" in r.stderr
    if fmt == "csv":
        kept = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        rejected = list(csv.DictReader(io.StringIO(rej.read_text(encoding="utf-8-sig"))))
    else:
        kept = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        rejected = [json.loads(x) for x in rej.read_text(encoding="utf-8").splitlines()]
    assert [str(k["id"]) for k in kept] == [str(i) for i in range(30) if i != 7]
    assert all(k["social_style"] == "tiger" for k in kept)
    assert len(rejected) == 1 and str(rejected[0]["id"]) == "7"
    assert str(rejected[0]["budget"]) == str(BIG)  # the cell is kept as it was
    assert rejected[0]["_error_code"] == "bad-value" and "budget" in rejected[0]["_error"]
