"""Where the bundled rulebase and templates live (beside the engine package)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_RULEBASE = ROOT / "rulebase"
TEMPLATES = ROOT / "templates"


def default_rulebase() -> Path:
    """$ZHIKE_RULEBASE if set, else the rulebase shipped with zhike."""
    env = os.environ.get("ZHIKE_RULEBASE")
    return Path(env) if env else BUNDLED_RULEBASE


def cache_dir(*parts: str) -> Path | None:
    """zhike's own cache folder (``$XDG_CACHE_HOME/zhike`` or ``~/.cache/zhike``), made private, or
    None when caching is off (``ZHIKE_NO_CACHE=1``) or the folder cannot be made. What is cached there
    (compiled templates, the validated rulebase) is keyed by the content it was made from, so a stale
    entry is never used; deleting the folder is always safe."""
    if os.environ.get("ZHIKE_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base, "zhike", *parts)
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None
