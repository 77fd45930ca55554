"""Personas: the validated model, the library of YAML files, and card import and export."""

from personalab.lazy import exports

__all__ = ["Persona", "PersonaLibrary"]
__getattr__, __dir__ = exports(
    __name__,
    {"Persona": "model", "PersonaLibrary": "library"},
)
