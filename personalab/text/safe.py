"""Untrusted text as safe Markdown: no remote image loads, no raw HTML, links visibly links."""

from __future__ import annotations

import re
from urllib.parse import urlparse

_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_IMAGE = re.compile(r"!\[([^\]]*)\]\[([^\]]*)\]")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*(\S+).*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|data|javascript|file):[^>\s]*)>", re.I)
_TAG = re.compile(r"<(/?[A-Za-z!?][^>]*)>")
_OPENING = re.compile(r"<(?=[/A-Za-z!?])")  # a tag never closed (a reply cut off inside it)


def host_of(url: str) -> str:
    try:
        return (urlparse(url).hostname or "").lower()
    except ValueError:
        return ""


def _safe_url(url: str) -> bool:
    return urlparse(url).scheme.lower() in ("http", "https", "mailto")


def safe_markdown(text: str) -> str:
    """Markdown that shows the same words but can load nothing and run nothing.

    Images become links labelled as images (a remote image would be fetched by every viewer's
    browser, and its address can carry data out); links show where they go; links to other
    schemes (javascript:, data:, file:) become plain text; HTML tags, closed or not, are shown
    as text.
    """
    text = _REF_DEF.sub(lambda m: f"\\[{m.group(1)}\\]: {_plain_url(m.group(2))}", text)
    text = _IMAGE.sub(lambda m: _image(m.group(1), m.group(2)), text)
    text = _REF_IMAGE.sub(lambda m: f"(image: {m.group(1) or m.group(2)})", text)
    text = _LINK.sub(lambda m: _link(m.group(1), m.group(2)), text)
    text = _AUTOLINK.sub(lambda m: _plain_url(m.group(1)), text)
    text = _TAG.sub(lambda m: f"&lt;{m.group(1)}&gt;", text)
    return _OPENING.sub("&lt;", text)


def _image(alt: str, url: str) -> str:
    label = f"image: {alt}" if alt else "image"
    if not _safe_url(url):
        return f"({label})"
    return f"[🖼 {label} ↗ {host_of(url) or url}]({url})"


def _link(label: str, url: str) -> str:
    if not _safe_url(url):
        return f"{label} ({_plain_url(url)})"
    host = host_of(url)
    return f"[{label} ↗ {host}]({url})" if host and host not in label else f"[{label}]({url})"


def _plain_url(url: str) -> str:
    """An address as text that no Markdown renderer turns into a link or an image."""
    return "`" + url.replace("`", "'") + "`"
