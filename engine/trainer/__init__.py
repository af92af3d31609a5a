"""Layer 6 — the trainers' tools (`zhike rules check|test|doc`).

Static analysis of the rulebase (`lint`), golden cases (`casetest`) and the playbook (`doc`).

May import: `engine.interview`, `engine.batch` and lower.
"""
