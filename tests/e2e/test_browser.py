"""The served app in a real browser: `streamlit run` driven by Playwright in Debian chromium."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from personalab.evaluation.serving import CHROMIUM, launch_chromium, serve_app

# A reply is ~1-5 s on an idle 2-core machine (the first one also loads the models), but
# llama.cpp slows down sharply when other processes compete for the cores: be generous.
REPLY_TIMEOUT_MS = 300_000
PAGE_TIMEOUT_MS = 60_000
DETAILS = "Memories and profile behind this reply"
GENERIC = "Generic: same model, no persona, no memory"
PERSONALIZED = "Personalized: persona + memories + recent turns"


@pytest.fixture
def app_url(isolated_env: Path) -> Iterator[str]:
    """The app served with this test's isolated memory and persona folders."""
    with serve_app() as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM}: run `make browser` "
            "(or `sudo apt-get install chromium`); never `playwright install`",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture
def js_errors() -> list:
    """Uncaught JavaScript errors of the test's page."""
    return []


@pytest.fixture
def page(browser: Browser, js_errors: list) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("pageerror", lambda error: js_errors.append(error))
    yield page
    context.close()


def send(page: Page, text: str, placeholder: str | None = None) -> None:
    """Type text into the page's chat input and press Enter."""
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_visible(timeout=PAGE_TIMEOUT_MS)  # a fresh app's first page takes seconds
    if placeholder:
        expect(box).to_have_attribute("placeholder", placeholder)
    box.fill(text)
    box.press("Enter")


def assistant_replies(page: Page) -> Locator:
    messages = page.get_by_test_id("stChatMessage")
    return messages.filter(has=page.get_by_test_id("stChatMessageAvatarAssistant"))


def wait_for_details(scope: Locator) -> Locator:
    """The reply's details expander; it renders only once the stream has ended."""
    details = scope.get_by_test_id("stExpander")
    expect(details).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(details).to_contain_text(DETAILS)
    return details


def assert_healthy(page: Page, js_errors: list) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("No reply:")).to_have_count(0)
    assert not js_errors, js_errors


def screenshot(page: Page, tmp_path: Path, name: str, keep: bool = True) -> None:
    """Save a full-page screenshot in the test's folder; keep: also as /tmp/e2e-<name>.png."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    if keep:
        shutil.copy(path, f"/tmp/e2e-{name}.png")


def test_chat_reply_streams_and_a_new_session_recalls_the_fact(
    app_url: str, page: Page, js_errors: list, tmp_path: Path
):
    """Chat in a browser: a reply streams in; after a reload the stated fact is recalled."""
    page.goto(app_url)
    send(page, "I am allergic to peanuts.")
    reply = assistant_replies(page)
    wait_for_details(reply)
    expect(reply).to_have_count(1)
    answer = reply.get_by_test_id("stChatMessageContent").get_by_test_id("stMarkdownContainer")
    assert answer.first.inner_text().strip()
    screenshot(page, tmp_path, "chat-first", keep=False)

    page.reload()  # a new browser session is a new chat session; memory is per user + persona
    expect(assistant_replies(page)).to_have_count(0)
    send(page, "Can I eat peanut chikki?")
    reply = assistant_replies(page)
    details = wait_for_details(reply)
    expect(reply).to_have_count(1)
    details.locator("summary").click()
    details.get_by_role("tab", name="Facts").click()
    facts = details.get_by_role("tabpanel")
    expect(facts.get_by_test_id("stDataFrame")).to_be_visible()
    expect(facts).to_contain_text("I am allergic to peanuts.")
    assert_healthy(page, js_errors)
    screenshot(page, tmp_path, "chat")


def test_compare_streams_generic_and_personalized_answers_side_by_side(
    app_url: str, page: Page, js_errors: list, tmp_path: Path
):
    """Compare in a browser: two answered columns; only the personalized one has details."""
    page.goto(f"{app_url}compare")
    send(page, "Plan my Sunday.", placeholder="One message, two answers")
    columns = page.get_by_test_id("stColumn")
    generic = columns.filter(has_text=GENERIC)
    personal = columns.filter(has_text=PERSONALIZED)
    wait_for_details(personal)
    expect(columns).to_have_count(2)
    for column, heading in [(generic, GENERIC), (personal, PERSONALIZED)]:
        expect(column).to_have_count(1)
        text = column.get_by_test_id("stMarkdownContainer")
        expect(text.first).to_have_text(heading)
        assert text.nth(1).inner_text().strip(), f"no answer under {heading!r}"
    expect(generic.get_by_test_id("stExpander")).to_have_count(0)
    expect(generic.get_by_test_id("stCaptionContainer")).to_contain_text("first token")
    assert_healthy(page, js_errors)
    screenshot(page, tmp_path, "compare")
