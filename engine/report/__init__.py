"""Layer 4 — reports: what a person reads, and writing it safely.

- `render`: the JSON contract (`to_json`) and the text/md/html reports through Jinja;
- `screen`: the rep's one-screen summary and its `--detail` explanation, as plain data;
- `confidence`: the confidence words (很可能 / 可能 / 倾向于) and their thresholds, in one place;
- `describe`: conditions in sales language; `clauses`: the customer's words as whole clauses;
- `textwidth`, `markdown`, `sandbox`: terminal layout, escaped Markdown, a trainer's own template;
- `output`: the one place that writes output files.

May import: `engine.reasoning` and lower.
"""
