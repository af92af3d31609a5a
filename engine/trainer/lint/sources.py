"""Sources: every cited section's anchor text must stand in its seed document.

anchor-not-found (error): a source section's anchor text is not in its seed file.
seed-missing (error): a seed file listed in sources.yaml is not in the seeds directory.
anchor-check-skipped (note; error with --require-seeds): the seeds directory was not found, so anchors were not
checked.
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from ...errors import Problem
from ...i18n import _
from ...rules.loader import display_path
from ...rules.yamlpos import Pos
from .context import ERROR, NOTE, Context, Family, problem


def seeds_dir() -> Path:
    """Where the seed documents are: $ZHIKE_SEEDS, else ../shared/seeds beside the repository."""
    env = os.environ.get("ZHIKE_SEEDS")
    if env:
        return Path(env)
    from ...paths import ROOT

    return ROOT.parent / "shared" / "seeds"


def run(ctx: Context) -> Iterator[Problem]:
    rb, seeds = ctx.rb, ctx.seeds
    sources = Path(rb.root) / "sources.yaml"
    sources_file = display_path(sources)
    if not rb.seeds:
        return
    if seeds is None or not seeds.is_dir():
        # A copied rulebase usually travels without the seeds: one note, not a failure of --strict,
        # unless the trainer asked for the check (--require-seeds).
        where = seeds if seeds is not None else "(none)"
        yield problem(Pos(sources_file, 1, 1), _("anchor check skipped: seed directory {dir} not found; pass "
                                                 "--seeds DIR (or set ZHIKE_SEEDS) to the folder with the seed "
                                                 "documents", dir=where),
                      "anchor-check-skipped", ERROR if ctx.require_seeds else NOTE)
        return
    for seed in rb.seeds.values():
        path = seeds / seed.file
        fnode = ctx.nodes.child(seed.pos, "file")
        fpos = fnode.pos if fnode is not None else seed.pos
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            yield problem(fpos, _("seed file {file} not found in {dir}", file=seed.file, dir=seeds), "seed-missing",
                          ERROR)
            continue
        loose = _loose(text)
        for sec in seed.sections.values():
            if sec.anchor in text:
                continue
            node = ctx.nodes.child(sec.pos, "anchor")
            if _loose(sec.anchor) in loose:
                msg = _("anchor of section {section} of seed {seed} does not occur in {file} (it differs only in "
                        "spacing or full-/half-width characters; copy it exactly)",
                        section=sec.id, seed=seed.id, file=seed.file)
            else:
                msg = _("anchor of section {section} of seed {seed} does not occur in {file}; copy a short phrase "
                        "exactly as it stands in the seed", section=sec.id, seed=seed.id, file=seed.file)
            yield problem(node.pos if node else sec.pos, msg, "anchor-not-found", ERROR)


def _loose(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


FAMILY = Family("sources", ("anchor-not-found", "seed-missing", "anchor-check-skipped"), run)
