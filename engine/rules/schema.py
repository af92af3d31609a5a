"""JSON Schema (draft 2020-12) of the rule files, for editor autocomplete and inline errors.

One schema document: `$defs` holds one definition per file kind
(`rulebaseFile`, `sourcesFile`, `factFile`, `typologyFile`, `testFile`,
`guidanceFile`) and the building blocks (text, condition, effect ...). The
top level picks the definition from the file's top-level keys with
`allOf` + `if`/`then` (`typology`, `facts`, `seeds`, `cases`, `stages`/`name`,
`strategies` alone), and a top-level `anyOf` requires one of those keys.
Dispatching by key rather than a bare `anyOf` of the six kinds keeps error
messages precise ("rules[0].then[0].weight: 1.5 is greater than 1") instead
of "not valid under any of the given schemas". A single kind can also be
used on its own: `zhike.schema.json#/$defs/typologyFile`.

It only uses keywords that mean the same in draft-07, because VS Code's YAML
extension (yaml-language-server) validates with draft-07 semantics whatever
`$schema` says: no `prefixItems`, no `unevaluatedProperties`, nothing next to
a `$ref`. Hover texts come from `description`; `defaultSnippets` (an extension
keyword of yaml-language-server, ignored by validators) offers skeletons.

The schema checks shapes only. Whether an id exists (a fact, a class, a
seed section) depends on the rest of the rulebase: `zhike rules check` does
that, with did-you-mean.
"""
from __future__ import annotations

from typing import Any

from .checker import ID_RE

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
FILE_KINDS = {  # $defs name -> the key that identifies the file, and where such files live
    "corpusFile": ("items", "corpus/{train,heldout}/*.yaml"),  # first: a corpus file names its typology too
    "rulebaseFile": ("stages", "rulebase.yaml"),
    "sourcesFile": ("seeds", "sources.yaml"),
    "factFile": ("facts", "facts/*.yaml"),
    "typologyFile": ("typology", "typologies/*.yaml"),
    "testFile": ("cases", "tests/*.yaml"),
    "lexiconFile": ("concepts", "lexicons/*.yaml"),
    "guidanceFile": ("strategies", "guidance/*.yaml"),  # last: a typology file has strategies too
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None, description: str | None = None,
         **extra: Any) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    out.update(extra)
    return out


def _dispatched(description: str, heads: dict[str, str], list_form: dict | None = None) -> dict:
    """One of several mapping forms told apart by a key, checked against that form only.

    A bare anyOf of the forms would report "not valid under any of the given
    schemas"; picking the form by its key reports the actual mistake.
    """
    forms: list[dict] = [{"type": "object", "anyOf": [{"required": [k]} for k in heads]}]
    rules = [{"if": {"type": "object", "required": [k]}, "then": _ref(name)} for k, name in heads.items()]
    if list_form is not None:
        forms.append({"type": "array"})
        rules.append({"if": {"type": "array"}, "then": list_form})
    return {"description": description, "anyOf": forms, "allOf": rules}


def _list(item: dict, description: str | None = None, min_items: int = 1) -> dict:
    out: dict[str, Any] = {"type": "array", "items": item, "minItems": min_items}
    if description:
        out["description"] = description
    return out


SCALAR = {"type": ["string", "number", "boolean"]}
WEIGHT = {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
          "description": "Certainty from just above 0 to 1 (0.2–0.5 a cue, 0.8–0.9 strong evidence)."}


def _defs() -> dict[str, Any]:
    d: dict[str, Any] = {}
    d["id"] = {"type": "string", "pattern": ID_RE.pattern,
               "description": "An id: letters, digits and _, parts separated by dots, starting with a letter."}
    d["nonEmpty"] = {"type": "string", "minLength": 1, "pattern": r"\S"}
    d["text"] = _obj({"zh": _ref("nonEmpty"), "en": _ref("nonEmpty")}, ["zh", "en"],
                     "Text a rep reads, in Chinese and English; both are required.",
                     defaultSnippets=[{"label": "zh / en", "body": {"zh": "$1", "en": "$2"}}])
    d["note"] = {"description": "For trainers only, never shown to a rep: why this departs from a seed, which seed "
                                "it follows, conflicts between seeds. Plain text, or {zh: ..., en: ...}.",
                 "anyOf": [_ref("nonEmpty"), _ref("text")]}
    d["source"] = _obj({
        "seed": {"type": "string", "description": "Seed id from sources.yaml, quoted: \"000\"."},
        "section": {"type": ["string", "number"], "description": "Section id of that seed in sources.yaml."},
    }, ["seed", "section"], "Where this comes from: a seed document and one of its sections (sources.yaml).",
        defaultSnippets=[{"label": "source", "body": {"seed": "${1:000}", "section": "$2"}}])

    # --- rulebase.yaml / sources.yaml -----------------------------------------------------
    d["stage"] = _obj({"id": _ref("id"), "label": _ref("text")}, ["id", "label"], "A sale stage.")
    d["topic"] = _obj({"id": _ref("id"), "label": _ref("text")}, ["id", "label"],
                      "A subject the interview asks about; facts name it with `topic:`.")
    d["rulebaseFile"] = _obj({
        "name": {"type": ["string", "number"], "description": "Short name of the rulebase."},
        "version": {"type": ["string", "number"], "description": "Version, e.g. \"0.1.0\"."},
        "title": _ref("text"),
        "description": _ref("text"),
        "threshold": {**WEIGHT, "description": "Default minimum confidence for a conclusion (0.3)."},
        "stages": _list(_ref("stage"), "Sale stages that strategy advice may be split by."),
        "order": {"type": "array", "items": {"type": "string"},
                  "description": "Typology ids in the order reports show them (others follow)."},
        "topics": _list(_ref("topic"), "Interview topics, in the order a rep's questions come in.", min_items=0),
        "default_goals": {"type": "array", "items": {"type": "string"},
                          "description": "Typology ids `zhike ask` aims at without --goal (none: all typologies)."},
        "words": _obj({"examples": _obj({
            "threshold": {**WEIGHT, "description": "How similar a clause must be to an example sentence (0.35)."},
            "weight": {**WEIGHT, "description": "The evidence an example sentence gives, at full likeness (0.5)."},
        })}, description="How example sentences count."),
    }, ["name", "version", "title", "stages"], "rulebase.yaml: name, version, title, stages.")
    d["section"] = _obj({
        "id": {"type": ["string", "number"], "description": "Short stable id that rules cite."},
        "title": {"type": "string", "description": "The heading as it stands in the seed."},
        "anchor": {"type": "string", "minLength": 1,
                   "description": "Exact text copied from the seed file; `zhike rules check` looks for it."},
    }, ["id", "title", "anchor"])
    d["seed"] = _obj({
        "id": {"type": "string", "description": "Seed id, always quoted: \"000\"."},
        "file": {"type": "string", "description": "File name in the seeds folder."},
        "title": _ref("text"),
        "sections": _list(_ref("section"), min_items=0),
    }, ["id", "file", "title", "sections"])
    d["sourcesFile"] = _obj({"seeds": _list(_ref("seed"), "The seed documents rules may cite.")}, ["seeds"],
                            "sources.yaml: the seed documents and their sections.")

    # --- facts ---------------------------------------------------------------------------------
    d["value"] = _obj({"id": {"type": ["string", "number"]}, "label": _ref("text")}, ["id", "label"])
    fact_types = ["enum", "bool", "number", "text", "list"]
    d["fact"] = _obj({
        "id": _ref("id"),
        "type": {"enum": fact_types, "description": "enum: one of `values`; bool: true/false; number; "
                                                    "text: free text; list: several values (or texts)."},
        "label": _ref("text"),
        "question": _ref("text"),
        "help": _ref("text"),
        "values": _list(_ref("value"), "enum and list facts: the allowed values."),
        "min": {"type": "number", "description": "number facts: the lowest possible value."},
        "max": {"type": "number", "description": "number facts: the highest possible value."},
        "unit": _ref("text"),
        "topic": {"type": "string", "description": "A topic id from rulebase.yaml: its questions are asked together."},
        "applies_when": _ref("factCondition"),
        "note": _ref("note"),
    }, ["id", "type", "label", "question"], "One fact: an input rules may test.",
        allOf=[
            {"if": {"properties": {"type": {"const": "enum"}}, "required": ["type"]},
             "then": {"required": ["values"]}},
            {"if": {"properties": {"type": {"enum": ["bool", "number", "text"]}}, "required": ["type"]},
             "then": {"not": {"required": ["values"]}}},
            {"if": {"properties": {"type": {"enum": ["enum", "bool", "text", "list"]}}, "required": ["type"]},
             "then": {"properties": {"min": False, "max": False, "unit": False}}},
        ],
        defaultSnippets=[{"label": "enum fact", "body": {
            "id": "$1", "type": "enum", "label": {"zh": "$2", "en": "$3"},
            "question": {"zh": "$4", "en": "$5"},
            "values": [{"id": "$6", "label": {"zh": "$7", "en": "$8"}}]}}])
    d["factFile"] = _obj({"facts": _list(_ref("fact"))}, ["facts"], "facts/*.yaml: the fact catalogue.")

    # --- conditions ----------------------------------------------------------------------------------
    num = {"type": "number"}
    one_or_more = {"type": "array", "items": SCALAR, "minItems": 1}
    fact_ops = {
        "is": {**SCALAR, "description": "Known and equal to this value (a list fact: contains it)."},
        "is_not": {**SCALAR, "description": "Known and different (not for list facts)."},
        "in": {**one_or_more, "description": "One of these values (a list fact: contains one of them)."},
        "not_in": {**one_or_more, "description": "Known and none of these (not for list facts)."},
        ">": num, ">=": num, "<": num, "<=": num, "gt": num, "gte": num, "lt": num, "lte": num,
        "between": {"type": "array", "items": num, "minItems": 2, "maxItems": 2,
                    "description": "[low, high], both included."},
        "known": {"type": "boolean", "description": "true: known (given or derived); false: unknown."},
        "answered": {"type": "boolean", "description": "true: the rep gave it (derived values do not count)."},
    }
    d["factTest"] = {"type": "object", "properties": {"fact": {"type": "string", "description": "A fact id."},
                                                      **fact_ops},
                     "required": ["fact"], "additionalProperties": False, "minProperties": 2, "maxProperties": 2,
                     "description": "A test on one fact: `fact` plus exactly one comparison.",
                     "defaultSnippets": [{"label": "fact is", "body": {"fact": "$1", "is": "$2"}}]}
    d["typologyTest"] = {"type": "object", "properties": {
        "typology": {"type": "string", "description": "A typology id."},
        "is": {"type": "string"}, "is_not": {"type": "string"},
        "in": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "not_in": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "known": {"type": "boolean"},
        "min_confidence": {**WEIGHT, "description": "Only when concluded with at least this confidence."},
    }, "required": ["typology"], "additionalProperties": False, "minProperties": 2, "maxProperties": 3,
        "description": "A test on a typology's conclusion: `typology` plus one of is, is_not, in, not_in, known."}
    words = {"type": "array", "items": {"type": "string", "minLength": 1}}
    phrase_props = {
        "zh": {**words, "description": "Chinese phrases (within one clause; traditional characters match too)."},
        "en": {**words, "description": "English phrases (whole words, ignoring case)."},
        "regex": {**words, "description": "Regular expressions (Python syntax), searched in each clause."},
        "concept": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                    "description": "Concept ids from lexicons/*.yaml: any of their phrases."},
        "form": {"enum": ["question", "statement"],
                 "description": "Only clauses asked back as a question, or only statements."},
    }
    d["saidTest"] = _obj({"said": _obj(phrase_props, description="What the customer said: phrases, concepts "
                                       "or patterns.", minProperties=1)}, ["said"])
    d["notedTest"] = _obj({"noted": _obj(phrase_props, description="What the rep noted (a 备注 column, "
                                         "`rep_notes:`), never the customer's words.", minProperties=1)}, ["noted"])
    heads = {"fact": "factTest", "typology": "typologyTest", "said": "saidTest", "noted": "notedTest",
             "all": "allCondition", "any": "anyCondition", "not": "notCondition"}
    d["allCondition"] = _obj({"all": _list(_ref("condition"))}, ["all"], "Every one holds.")
    d["anyCondition"] = _obj({"any": _list(_ref("condition"))}, ["any"], "At least one holds.")
    d["notCondition"] = _obj({"not": _ref("condition")}, ["not"],
                             "Does not hold (an unknown fact counts as not holding).")
    fact_heads = {"fact": "factTest", "all": "allFactCondition", "any": "anyFactCondition", "not": "notFactCondition"}
    d["allFactCondition"] = _obj({"all": _list(_ref("factCondition"))}, ["all"], "Every one holds.")
    d["anyFactCondition"] = _obj({"any": _list(_ref("factCondition"))}, ["any"], "At least one holds.")
    d["notFactCondition"] = _obj({"not": _ref("factCondition")}, ["not"], "Cannot hold.")
    d["factCondition"] = _dispatched(
        "When the question makes sense: it is asked only while this can still hold given what is known. "
        "Fact tests and all / any / not only (no `said:`, no `typology:`).",
        fact_heads, list_form=_list(_ref("factCondition"), "Every one holds (same as all:)."))
    d["condition"] = _dispatched(
        "A condition: fact / typology / said test, or all / any / not of conditions (a bare list means all).",
        heads, list_form=_list(_ref("condition"), "Every one holds (same as all:)."))

    # --- effects, rules, strategies --------------------------------------------------------------------
    target = {"type": "string", "description": "A class of this typology, or typology.class."}
    d["classEffect"] = _obj({"class": target, "weight": WEIGHT}, ["class", "weight"], "Evidence for a class.")
    d["againstEffect"] = _obj({"against": target, "weight": WEIGHT}, ["against", "weight"],
                              "Evidence against a class.")
    d["setEffect"] = _obj({"set": {"type": "string", "description": "A fact id."}, "value": SCALAR},
                          ["set", "value"], "Derive a fact.")
    d["warnEffect"] = _obj({"warn": _ref("text")}, ["warn"], "A warning shown to the rep.")
    d["effect"] = _dispatched("An effect: class / against / set / warn.",
                              {"class": "classEffect", "against": "againstEffect", "set": "setEffect",
                               "warn": "warnEffect"})
    d["rule"] = _obj({
        "id": _ref("id"),
        "when": _ref("condition"),
        "then": _list(_ref("effect"), "What the rule concludes when its condition holds."),
        "rationale": _ref("text"),
        "source": _ref("source"),
        "examples": {"type": "array", "items": _ref("nonEmpty"),
                     "description": "Customer sentences that illustrate the rule (any language); never quoted as "
                                    "what a customer said."},
        "note": _ref("note"),
    }, ["id", "when", "then", "rationale", "source"], "A rule: when a condition holds, add evidence.",
        defaultSnippets=[{"label": "rule", "body": {
            "id": "$1", "when": {"fact": "$2", "is": "$3"}, "then": [{"class": "$4", "weight": 0.5}],
            "rationale": {"zh": "$5", "en": "$6"}, "source": {"seed": "$7", "section": "$8"}}}])
    d["strategy"] = _obj({
        "id": _ref("id"),
        "for": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                "description": "The class this advice is for, or a list of typology.class that must all hold."},
        "when": _ref("condition"),
        "advice": {"description": "One text for every stage, or one text per stage id (rulebase.yaml).",
                   "anyOf": [_ref("text"), {"type": "object", "minProperties": 1,
                                            "propertyNames": {"pattern": ID_RE.pattern},
                                            "additionalProperties": _ref("text")}]},
        "source": _ref("source"),
        "summary": _ref("text"),
        "priority": {"type": "integer", "minimum": 0, "maximum": 100,
                     "description": "Higher wins the next best action."},
        "supersedes": {"type": "array", "items": _ref("id"), "minItems": 1,
                       "description": "Ids of strategies this one replaces when both apply (their advice is not "
                                      "shown)."},
        "note": _ref("note"),
    }, ["id", "advice", "source"], "Advice for the rep when a class (or combination) holds.",
        anyOf=[{"required": ["for"]}, {"required": ["when"]}])
    sentences = {"type": "array", "items": _ref("nonEmpty")}
    d["class"] = _obj({"id": _ref("id"), "label": _ref("text"), "description": _ref("text"), "note": _ref("note"),
                       "examples": _obj({"zh": sentences, "en": sentences},
                                        description="Sentences customers of this class say: a clause close to one "
                                                    "is evidence for the class.")},
                      ["id", "label"])
    d["concept"] = _obj({"id": _ref("id"), "label": _ref("text"), "zh": words, "en": words, "regex": words,
                         "note": _ref("note")}, ["id", "label"],
                        "A named set of phrases; `...` in a phrase is a short gap.")
    label = {"type": ["string", "null"], "description": "A class id, or null: none of this typology's classes."}
    d["corpusFile"] = _obj({
        "typology": {"type": "string", "description": "The typology the items are labelled with."},
        "split": {"enum": ["train", "heldout"], "description": "train: tune on it; heldout: never look at its "
                                                              "failures."},
        "items": _list(_obj({"said": _ref("nonEmpty"), "expect": label,
                             "also": {"type": "object", "additionalProperties": label,
                                      "description": "Labels for other typologies: typology id: class id or null."}},
                            ["said", "expect"]), min_items=0),
    }, ["typology", "split", "items"], "corpus/*/*.yaml: customer utterances labelled by a trainer.")
    d["lexiconFile"] = _obj({"concepts": _list(_ref("concept"))}, ["concepts"],
                            "lexicons/*.yaml: concepts that said: / noted: tests share.")
    d["typology"] = _obj({
        "id": _ref("id"),
        "label": _ref("text"),
        "description": _ref("text"),
        "threshold": {**WEIGHT, "description": "Minimum confidence to conclude a class (overrides rulebase.yaml)."},
        "source": _ref("source"),
        "note": _ref("note"),
        "classes": _list(_ref("class")),
    }, ["id", "label", "classes"])
    d["typologyFile"] = _obj({
        "typology": _ref("typology"),
        "rules": _list(_ref("rule"), min_items=0),
        "strategies": _list(_ref("strategy"), min_items=0),
    }, ["typology"], "typologies/*.yaml: one typology, its rules and strategies.")
    d["guidanceFile"] = _obj({"strategies": _list(_ref("strategy"), min_items=0)}, ["strategies"],
                             "guidance/*.yaml: strategies across typologies (for: typology.class) and "
                             "general advice.")

    # --- golden cases ------------------------------------------------------------------------------------
    ids = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    d["case"] = _obj({
        "name": {"type": "string", "minLength": 1, "description": "What the case checks; unique."},
        "notes": {"type": "string"},
        "given": _obj({
            "facts": {"type": "object", "description": "fact id: value"},
            "utterances": {"type": "array", "items": {"type": "string"}},
            "rep_notes": {"type": "array", "items": {"type": "string"}},
            "name": {"type": "string"}, "notes": {"type": "string"},
        }),
        "expect": {"type": "object", "description": "typology id: class id (or null), or {value, min_confidence}",
                   "additionalProperties": {"anyOf": [
                       {"type": ["string", "null"]},
                       _obj({"value": {"type": ["string", "null"]},
                             "min_confidence": {"type": "number", "minimum": 0, "maximum": 1}}),
                   ]}},
        "expect_fired": ids, "expect_not_fired": ids, "expect_strategy": ids,
    }, ["name"], "A golden case: given facts and words, expect classes, fired rules, strategies.",
        anyOf=[{"required": [k]} for k in ("expect", "expect_fired", "expect_not_fired", "expect_strategy")])
    d["testFile"] = _obj({"cases": _list(_ref("case"), min_items=0)}, ["cases"],
                         "tests/*.yaml: golden cases for `zhike rules test`.")
    return d


TOP_KEYS = {  # completion and hover for the first key of a new file
    "typology": "typologies/*.yaml: the typology (id, label, classes ...)",
    "rules": "typologies/*.yaml: the rules of this typology",
    "strategies": "typologies/*.yaml or guidance/*.yaml: advice per class or combination",
    "facts": "facts/*.yaml: the fact catalogue",
    "seeds": "sources.yaml: the seed documents",
    "cases": "tests/*.yaml: golden cases",
    "concepts": "lexicons/*.yaml: named sets of phrases for said: / noted:",
    "name": "rulebase.yaml", "version": "rulebase.yaml", "title": "rulebase.yaml", "description": "rulebase.yaml",
    "threshold": "rulebase.yaml", "stages": "rulebase.yaml: the sale stages", "order": "rulebase.yaml",
    "topics": "rulebase.yaml: the interview's topics, in order",
    "default_goals": "rulebase.yaml: the typologies `zhike ask` aims at by default",
}


def _dispatch() -> list[dict]:
    """Which definition applies, by the file's top-level keys: precise errors, unlike a bare anyOf."""
    def when(cond: dict, name: str) -> dict:
        return {"if": cond, "then": _ref(name)}

    return [
        when({"required": ["items"]}, "corpusFile"),
        when({"required": ["typology"], "not": {"required": ["items"]}}, "typologyFile"),
        when({"required": ["facts"]}, "factFile"),
        when({"required": ["seeds"]}, "sourcesFile"),
        when({"required": ["cases"]}, "testFile"),
        when({"required": ["concepts"]}, "lexiconFile"),
        when({"anyOf": [{"required": ["stages"]}, {"required": ["name"]}, {"required": ["version"]}]},
             "rulebaseFile"),
        when({"required": ["strategies"], "not": {"required": ["typology"]}}, "guidanceFile"),
    ]


def schema() -> dict[str, Any]:
    """The schema of every rule file kind, as a JSON-ready dict."""
    return {
        "$schema": SCHEMA_URI,
        "title": "zhike rulebase file",
        "description": "Any file of a zhike rulebase: " + ", ".join(f"{p} ({k})" for k, (_, p) in FILE_KINDS.items()),
        "type": "object",
        "properties": {k: {"description": v} for k, v in TOP_KEYS.items()},
        "anyOf": [{"required": [k]} for k in ("typology", "facts", "seeds", "cases", "stages", "name", "strategies",
                                              "concepts", "items")],
        "allOf": _dispatch(),
        "$defs": _defs(),
    }


def kind_of(data: Any) -> str | None:
    """Which $defs entry a parsed file is meant to be, from its top-level key."""
    if isinstance(data, dict):
        for name, (key, _) in FILE_KINDS.items():
            if key in data:
                return name
    return None
