"""Layer 1 — the rule language: YAML with positions → a validated model.

Facts, typologies, rules, strategies and guidance as plain dataclasses (`model`), loaded with
every problem at once as `file:line:col` (`loader`, `yamlpos`), and the JSON Schema of the
rule files (`schema`).

`loader` is the entry point (`load_rulebase`, `check_rulebase`); it combines one reader per
file kind, each a small class on a shared base:

- `checker`: `Checker`, the shapes of values (text, ids, numbers, lists, bilingual text) and
  problem collection; `suggest` for did-you-mean;
- `conditions`: `ConditionReader`, the condition language and the references it makes;
- `manifest`: rulebase.yaml (stages, order, topics, default goals) and sources.yaml;
- `facts`, `typologies` (with rules and effects), `strategies` (with `supersedes:`);
- `stratify`: the passes in which rules, strategies and typologies are decided;
- `patterns`: which `said:` regular expressions are safe, and how they compile.

Every problem message goes through the message catalogue (`engine.i18n`).

May import: `engine.errors`, `engine.paths`, `engine.i18n`.
"""
