"""The served app in a real browser: `streamlit run` driven by Playwright in Debian chromium."""

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from personalab.evaluation.serving import CHROMIUM, launch_chromium, serve_app

pytestmark = pytest.mark.slow  # a real browser and the real model

# A reply is ~1-5 s on an idle 2-core machine (the first one also loads the models), but
# llama.cpp slows down sharply when other processes compete for the cores: be generous.
REPLY_TIMEOUT_MS = 300_000
PAGE_TIMEOUT_MS = 60_000
DETAILS = "Memories and profile behind this reply"
GENERIC = "Generic: no persona, no memory"
PERSONALIZED = "Personalized: persona + memory"
SERIOUS = ("serious", "critical")


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
    """A browser page that records uncaught errors; the test fails if the page asked for
    anything off this machine (a font, an icon, a tracker): nothing phones home."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("pageerror", lambda error: js_errors.append(error))
    away: list[str] = []
    page.on("request", lambda r: away.append(r.url) if _off_machine(r.url) else None)
    yield page
    context.close()
    assert not away, f"the page asked for resources off this machine: {sorted(set(away))}"


def _off_machine(url: str) -> bool:
    return not url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:"))


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


def answer_column(page: Page, title: str) -> Locator:
    """The column of an answer, found by its bold title (not the ones inside an expander)."""
    title_text = page.locator("strong").filter(has_text=title)
    outer = page.locator(
        '[data-testid="stColumn"]:not([data-testid="stExpander"] [data-testid="stColumn"])'
    )
    return outer.filter(has=title_text)


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
    send(page, "Plan my Sunday.", placeholder="One message, several answers")
    generic, personal = answer_column(page, GENERIC), answer_column(page, PERSONALIZED)
    wait_for_details(personal)
    for column, heading in [(generic, GENERIC), (personal, PERSONALIZED)]:
        expect(column).to_have_count(1)
        text = column.get_by_test_id("stMarkdownContainer")
        expect(text.first).to_have_text(heading)
        assert text.nth(1).inner_text().strip(), f"no answer under {heading!r}"
    expect(generic.get_by_test_id("stExpander")).to_have_count(0)
    expect(generic.get_by_test_id("stCaptionContainer").first).to_contain_text("first token")
    assert_healthy(page, js_errors)
    screenshot(page, tmp_path, "compare")


def test_a_message_sent_while_a_reply_streams_is_queued_and_both_are_answered(
    app_url: str, page: Page, js_errors: list
):
    """A second message sent before the first reply has finished loses neither: both show,
    in order, and each gets its own reply."""
    page.goto(app_url)
    first, second = "I run marathons. What should I eat tonight?", "And for breakfast?"
    send(page, first)
    expect(assistant_replies(page)).to_have_count(1, timeout=REPLY_TIMEOUT_MS)  # streaming
    send(page, second)
    replies = assistant_replies(page)
    expect(replies).to_have_count(2, timeout=REPLY_TIMEOUT_MS)
    wait_for_details(replies.nth(1))
    users = page.get_by_test_id("stChatMessage").filter(
        has=page.get_by_test_id("stChatMessageAvatarUser")
    )
    said = [u.get_by_test_id("stText").inner_text().strip() for u in users.all()]
    assert said == [first, second]
    for n in range(2):
        text = replies.nth(n).get_by_test_id("stMarkdownContainer").first.inner_text()
        assert text.strip(), f"reply {n + 1} is empty"
    assert_healthy(page, js_errors)


def test_on_compare_a_message_sent_while_answers_stream_is_queued_and_both_are_answered(
    app_url: str, page: Page, js_errors: list
):
    """Compare: a second message sent while the first round streams loses neither round:
    both messages show, in order, each with its generic and personalized answers."""
    page.goto(f"{app_url}compare")
    first, second = "I run marathons. What should I eat tonight?", "And for breakfast?"
    send(page, first, placeholder="One message, several answers")
    expect(answer_column(page, GENERIC)).to_have_count(1, timeout=REPLY_TIMEOUT_MS)  # streaming
    send(page, second, placeholder="One message, several answers")
    expect(answer_column(page, PERSONALIZED)).to_have_count(2, timeout=REPLY_TIMEOUT_MS)
    wait_for_details(answer_column(page, PERSONALIZED).nth(1))
    expect(answer_column(page, GENERIC)).to_have_count(2)
    users = page.get_by_test_id("stChatMessage").filter(
        has=page.get_by_test_id("stChatMessageAvatarUser")
    )
    said = [u.get_by_test_id("stText").inner_text().strip() for u in users.all()]
    assert said == [first, second]
    assert_healthy(page, js_errors)


def test_the_group_demo_shows_three_answers_each_checked_for_every_member(
    app_url: str, page: Page, js_errors: list
):
    """Compare, Group mode, the Friday dinner group: generic, one member alone and the group
    answer fill in, and under each a 'kept every constraint of N of 3 members' line."""
    page.goto(f"{app_url}compare")
    page.get_by_test_id("stButtonGroup").get_by_text("Group", exact=True).click()
    expect(page.get_by_text("Answered alone for")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    send(page, "What should we cook for dinner?", placeholder="One message, several answers")
    kept = page.get_by_text(re.compile(r"Kept every constraint of \d of 3 members"))
    expect(kept).to_have_count(3, timeout=REPLY_TIMEOUT_MS)
    for title in ("Generic", "alone", "The group: Friday dinner"):
        expect(page.locator("strong").filter(has_text=title).first).to_be_visible()
    assert_healthy(page, js_errors)


def test_blind_vote_then_labels_are_revealed(app_url: str, page: Page, js_errors: list):
    """Compare with a blind vote: both unlabelled answers fill in; a vote reveals the labels."""
    page.goto(f"{app_url}compare")
    page.get_by_test_id("stCheckbox").get_by_text("Blind vote").click()
    send(page, "What should I cook tonight?", placeholder="One message, several answers")
    answers = answer_column(page, "Answer ")
    expect(page.get_by_role("button", name="Answer A")).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(answers).to_have_count(2)
    for i in range(2):
        text = answers.nth(i).get_by_test_id("stMarkdownContainer").nth(1)
        assert text.inner_text().strip(), "an answer is empty"
    expect(answer_column(page, GENERIC)).to_have_count(0)
    page.get_by_role("button", name="Answer A").click()
    expect(page.get_by_text("Voted:")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(answer_column(page, GENERIC)).to_have_count(1)
    expect(answer_column(page, PERSONALIZED)).to_have_count(1)
    assert_healthy(page, js_errors)


def test_every_page_passes_axe_with_content_on_it(
    app_url: str, page: Page, js_errors: list, tmp_path: Path
):
    """No serious or critical axe-core violation on any page, presenter mode included, once
    replies, badges and tables are on screen."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page.goto(app_url)
    send(page, "I am allergic to peanuts.")
    wait_for_details(assistant_replies(page))
    page.goto(f"{app_url}compare")
    send(page, "Plan my Sunday.", placeholder="One message, several answers")
    wait_for_details(answer_column(page, PERSONALIZED))
    for path in ("compare", "", "present", "memory", "personas"):
        if path not in ("compare",):
            page.goto(f"{app_url}{path}")
            expect(page.get_by_test_id("stApp")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
            page.wait_for_timeout(3000)  # let the page finish rendering
        found = axe.run(page).response["violations"]
        bad = [
            (v["id"], v["impact"], v["nodes"][0]["target"]) for v in found if v["impact"] in SERIOUS
        ]
        assert not bad, (path or "chat", bad)
    screenshot(page, tmp_path, "personas")
