"""Slugs: safe, readable file-name stems and collection-name parts from any text."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str) -> str:
    """A safe file name stem: lowercase ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return slug or "persona"
