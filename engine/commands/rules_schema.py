"""`zhike rules schema`: the JSON Schema of the rule files, for editor autocomplete."""
from __future__ import annotations

import json

from ..errors import EXIT_OK
from ..report.output import write_text


def run(output: str | None) -> int:
    from ..rules.schema import schema

    write_text(json.dumps(schema(), ensure_ascii=False, indent=2) + "\n", output)
    return EXIT_OK
