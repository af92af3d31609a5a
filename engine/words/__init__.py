"""Layer 2 — words: how the customer's own words are normalised and matched.

Text normalisation and the phrase matchers (keywords and time-bounded regular expressions)
that `said:` conditions use.

May import: `engine.rules` and the shared ground (`engine.errors`, `engine.paths`).
"""
