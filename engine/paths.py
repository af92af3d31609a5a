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
