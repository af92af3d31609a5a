"""`zhike serve`: the questionnaire and the report in the browser, and a JSON API for CRMs.

Layer 6, beside engine/trainer: it may import engine/interview and engine/batch
(the same questionnaire as `zhike ask`), engine/report (the same reports and JSON
contract as `zhike classify`) and the layers below, never engine/trainer (a sibling:
the playbook's data comes in through `Config.playbook`) nor engine/commands.
`create_app(Config(...))` is the ASGI application; engine/commands/serve.py runs it
on uvicorn. See docs/web.md.
"""
from __future__ import annotations

from .app import Config, create_app

__all__ = ["Config", "create_app"]
