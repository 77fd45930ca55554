"""Personas: the validated model, the library of YAML files, and card import and export."""

from personalab.lazy import exports

_WHERE = {"Persona": "model", "PersonaLibrary": "library"}
__all__ = list(_WHERE)
__getattr__, __dir__ = exports(__name__, _WHERE)
