"""Layer 4 — reports: what a person reads, and writing it safely.

Conditions in sales language (`describe`), the JSON contract and the text/md/html reports
(`render`), and the one place that writes output files (`output`).

May import: `engine.reasoning` and lower.
"""
