"""Layer 1 — the rule language: YAML with positions → a validated model.

Facts, typologies, rules, strategies and guidance as plain dataclasses (`model`), loaded with
every problem at once as `file:line:col` (`loader`, `yamlpos`), and the JSON Schema of the
rule files (`schema`).

May import: `engine.errors`, `engine.paths`.
"""
