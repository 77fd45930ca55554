"""What a reply is held to: constraint checks and their term groups, the guard that retries,
the LLM judge, and attribution of sentences to what the model was told."""

from personalab.lazy import exports

_WHERE = {
    "Check": "checks",
    "CheckReport": "checks",
    "CheckResult": "checks",
    "Judge": "judge",
    "Verdict": "judge",
}
__all__ = list(_WHERE)
__getattr__, __dir__ = exports(__name__, _WHERE)
