"""zhike (知客): load → validate → compile → infer → render.

The public API, one function per step:

    from engine import load_rulebase, compile_rulebase, load_profile, infer
    rb = load_rulebase("rulebase")
    with compile_rulebase(rb) as compiled:
        result = infer(compiled, load_profile("examples/tiger-price.yaml", rb))

Heavy modules (durable_rules, Jinja) are imported on first use, so the
command line starts fast.
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "load_rulebase": ("rules.loader", "load_rulebase"),
    "compile_rulebase": ("reasoning.compiler", "compile_rulebase"),
    "infer": ("reasoning.inference", "infer"),
    "combine": ("reasoning.inference", "combine"),
    "load_profile": ("reasoning.profile", "load_profile"),
    "profile_from_dict": ("reasoning.profile", "profile_from_dict"),
    "Profile": ("reasoning.profile", "Profile"),
    "Result": ("reasoning.inference", "Result"),
    "Rulebase": ("rules.model", "Rulebase"),
    "to_json": ("report.render", "to_json"),
    "render": ("report.render", "render"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{mod}"), attr)
    raise AttributeError(name)


__all__ = ["__version__", *_LAZY]
