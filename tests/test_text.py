"""Text helpers: untrusted Markdown made inert, secrets redacted, sentences split, slugs."""

import re

import pytest

from personalab.text.redaction import redact
from personalab.text.safe import safe_markdown
from personalab.text.sentences import ends_sentence, split_sentences
from personalab.text.slug import slugify


def loads_anything(markdown: str) -> bool:
    """Whether rendered Markdown would fetch an image or keep raw HTML."""
    return bool(
        re.search(r"(?<!\\)!\[[^\]]*\]\(", markdown) or re.search(r"<(img|script)", markdown)
    )


@pytest.mark.parametrize(
    "text",
    [
        "![pixel](http://tracker.example/p.png?d=secret)",
        '![x](<http://tracker.example/p.png> "title")',
        "<img src=http://tracker.example/x.png>",
        "<script>alert(1)</script>",
        "a reply cut off inside a tag: <img src=http://tracker.example/x.png",
    ],
)
def test_remote_images_and_raw_html_become_inert(text):
    """An image or HTML tag in untrusted text is shown, never loaded or run."""
    shown = safe_markdown(text)
    assert not loads_anything(shown)
    assert "tracker.example" in shown or "alert" in shown  # what was there is still visible


def test_a_link_shows_where_it_goes():
    """A link whose label hides its host gets the host next to it."""
    shown = safe_markdown("[your bank](https://evil.example/login)")
    assert "evil.example" in shown.split("](")[0]


def test_links_to_scripts_or_data_become_text():
    """javascript: and data: links are shown as text, not as links."""
    for url in ("javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4="):
        shown = safe_markdown(f"[click]({url})")
        assert "](" not in shown and url.split(":")[0] in shown


def test_plain_text_passes_unchanged():
    """Ordinary Markdown (emphasis, lists) is left as written."""
    text = "Try **lentils**:\n- soak them\n- cook 20 min"
    assert safe_markdown(text) == text


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abcdefghijklmnopqrstuvwx",
        "ghp_abcdefghijklmnopqrstuvwxyz012345",
        "AKIAABCDEFGHIJKLMNOP",
        "xoxb_abcdefghijklmnopqrstu",
        "Bearer abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_each_known_secret_format_is_redacted(secret):
    """A key of a format the redactor knows never survives it."""
    out = redact(f"my key is {secret} ok")
    assert secret not in out and "[redacted secret]" in out and out.startswith("my key is")


def test_a_known_secret_is_redacted_whatever_its_form():
    """A secret the app holds (the user's API key) is redacted even in no known format."""
    assert "hunter2hunter2" not in redact("pw hunter2hunter2", known=("hunter2hunter2",))


def test_ordinary_chat_is_not_redacted():
    """Words that merely look technical are kept."""
    text = "I asked the sk-8 team about AKIA and my bearer bonds."
    assert redact(text) == text


def test_sentences_split_after_end_marks_and_lines_only():
    """A decimal stays whole; a new line starts a sentence; semicolons split only when asked."""
    text = "I ran 3.5 km. Then I rested!\n- stretch; drink"
    assert split_sentences(text) == ["I ran 3.5 km.", "Then I rested!", "- stretch; drink"]
    assert split_sentences(text, semicolons=True)[-2:] == ["- stretch", "drink"]


def test_a_chunk_ends_a_sentence_at_an_end_mark_or_line():
    """The guard checks at . ! ? and line ends, not mid-sentence."""
    assert [ends_sentence(c) for c in ("Hi.", " there", "\n", "ok?")] == [True, False, True, True]


def test_slugs_are_safe_file_names():
    """Any name becomes lowercase ASCII letters, digits and dashes; nothing becomes "persona"."""
    assert slugify("Zoë O'Brien / Ärztin") == "zoe-o-brien-arztin"
    assert slugify("..//") == "persona"
