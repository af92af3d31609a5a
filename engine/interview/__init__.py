"""Layer 5 — the questionnaire (`zhike ask`).

Which question matters next, why it is asked, back/skip (`questionnaire`), and saving and
resuming sessions (`session`).

May import: `engine.report` and lower; never `engine.batch` (a sibling).
"""
