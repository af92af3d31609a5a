"""Layer 5 — the interview (`zhike ask`).

`questionnaire`: the state of one interview (answers, their record, back/skip, when to stop);
`graph`: which rules and facts the goals still depend on; `ranking` and `candidates`: which
question to ask next, by look-ahead; `agenda`: what comes first (the context question, the
customer's words) and the question for a next best action at the end; `applicability`: the
catalogue's `applies_when:`; `progress`: question numbers and the "about N left" estimate;
`goals` and `answers`: goals and answers by the names a rep knows; `texts`: why, how, what
changed; `session`: saving, resuming, files of answers, a saved session as a profile.

May import: `engine.report` and lower; never `engine.batch` (a sibling).
"""
