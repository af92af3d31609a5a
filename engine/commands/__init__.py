"""Layer 7 — one module per command (`zhike classify`, `batch`, `ask`, `facts`, `rules …`).

Each module is a thin shell over the library: `run(...) -> exit code`, called by `cli.py`, which only
parses arguments. May import every layer below it; nothing imports it but `cli.py`.
"""
