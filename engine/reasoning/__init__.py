"""Layer 3 — reasoning: profiles in, conclusions with certainty out.

Profiles and value coercion (`profile`), the durable_rules compilation (`compiler`) and the
forward-chaining inference with certainty factors (`inference`).

May import: `engine.words`, `engine.rules` and the shared ground.
"""
