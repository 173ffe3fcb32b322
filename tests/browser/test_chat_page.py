"""The chat page as a customer sees it, at desktop and phone sizes: it fits the screen, the
composer stays in view, times are the browser's own, and it meets WCAG 2.1 AA (contrast,
names, focus, one polite live region, errors as alerts). See conftest.py for what runs.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from . import checks
from .conftest import DESKTOP, PHONE, SMALL_PHONE, require_playwright
from .test_live_chat import WAIT, messages, send, start_chat

expect = require_playwright()

SIZES = {"desktop": DESKTOP, "phone": PHONE, "small phone": SMALL_PHONE}
NEW_YORK = "America/New_York"
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
LONG_URL = "https://example.com/orders/1042/tracking?" + "&".join(f"step{n}=in-transit-{n:04d}" for n in range(12))


def _fake_messages(page: Any, count: int) -> None:
    """Enough lines for the conversation to scroll (through the page's own renderer)."""
    page.evaluate(
        """(count) => { for (let n = 0; n < count; n++) window.chatEvents.render({
              id: 'filler-' + n, kind: 'message', type: 'MESSAGE', role: 'AGENT', complete: true,
              participant_id: 'filler-agent', display_name: 'Echo agent', time: new Date().toISOString(),
              attachments: [], content: 'Line ' + n + ' of a long conversation.'}); }""",
        count,
    )


def _expected_local_times(iso: str, zone: str) -> tuple[str, ...]:
    """How Chromium's en-US formats this instant in ``zone``: "8:14 PM", or with the day
    ("Dec 2, 8:14 PM") when it is not today there."""
    local = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    clock = f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    return clock, f"{local:%b} {local.day}, {clock}"


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_page_fits_the_screen_and_keeps_the_composer_in_view(new_page: Any, size: str) -> None:
    page = new_page(viewport=SIZES[size])
    start_chat(page)
    for text in (LONG_WORD, LONG_URL):
        send(page, text)
        expect(messages(page, "Echo: " + text)).to_have_count(1, timeout=WAIT)
    _fake_messages(page, 30)
    expect(page.locator("li[data-id='filler-29']")).to_be_visible()
    shape = checks.layout(page)
    assert shape["overflowX"] <= 0, f"the page scrolls sideways by {shape['overflowX']}px at {size}"
    assert shape["overflowY"] <= 0, "the page itself scrolls: the conversation should, inside its pane"
    assert shape["widest"] <= shape["width"], "something in the conversation is wider than the screen"
    assert shape["paneScrolls"] and shape["atEnd"], "the conversation scrolls and shows its newest line"
    for part in ("textarea", "send"):
        assert 0 <= shape[part]["top"] and shape[part]["bottom"] <= shape["height"], f"{part} is out of view"
    # After a send the composer is still in view and the newest line shows.
    send(page, "one more")
    expect(messages(page, "Echo: one more")).to_be_in_viewport(timeout=WAIT)
    expect(page.locator("#message-form textarea")).to_be_in_viewport()


def test_mine_and_theirs_sit_on_opposite_sides_and_events_in_the_middle(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    send(page, "which side am I on?")
    expect(messages(page, "Echo: which side am I on?")).to_have_count(1, timeout=WAIT)
    pane = page.locator("#pane").bounding_box()
    mine = page.locator("li.message.mine .bubble").first.bounding_box()
    theirs = page.locator("li.message:not(.mine) .bubble").first.bounding_box()
    event = page.locator("li.event-item .event").first.bounding_box()
    middle = pane["x"] + pane["width"] / 2
    assert mine["x"] + mine["width"] > middle and mine["x"] > theirs["x"], "mine on the right"
    assert theirs["x"] < middle and theirs["x"] + theirs["width"] < mine["x"] + mine["width"], "theirs on the left"
    assert abs(event["x"] + event["width"] / 2 - middle) < 2, "events centred"
    expect(page.locator("li.message.mine .who").first).to_have_text("You")
    expect(page.locator("li.message:not(.mine) .who").first).to_have_text("Echo agent")


def test_times_are_in_the_browsers_own_zone_and_keep_their_datetime(new_page: Any) -> None:
    page = new_page(timezone_id=NEW_YORK, locale="en-US")
    start_chat(page)
    send(page, "what time is it?")
    expect(messages(page, "Echo: what time is it?")).to_have_count(1, timeout=WAIT)
    page.reload()  # server-rendered times (UTC) replaced by the script
    expect(messages(page, "Echo: what time is it?")).to_have_count(1)
    times = page.eval_on_selector_all("#pane time", "els => els.map(t => [t.getAttribute('datetime'), t.textContent])")
    assert len(times) >= 4
    for iso, shown in times:
        assert iso and datetime.fromisoformat(iso).tzinfo is not None  # the instant stays machine-readable
        shown = re.sub(r"\s", " ", shown)  # Chromium puts a narrow no-break space before AM/PM
        assert shown in _expected_local_times(iso, NEW_YORK), (iso, shown)
        assert "UTC" not in shown
    # A time that arrives live is local too.
    page.evaluate(
        """() => window.chatEvents.render({id: 'late', kind: 'message', type: 'MESSAGE', role: 'AGENT',
              participant_id: 'x', display_name: 'Agent', complete: true, attachments: [],
              time: '2026-12-03T01:14:00+00:00', content: 'late night'})"""
    )
    assert page.locator("li[data-id='late'] time").text_content().replace("\u202f", " ") in _expected_local_times(
        "2026-12-03T01:14:00+00:00", NEW_YORK
    )


def test_without_javascript_times_say_they_are_utc(browser: Any, servers: dict[str, str]) -> None:
    context = browser.new_context(base_url=servers["site"], java_script_enabled=False, timezone_id=NEW_YORK)
    try:
        page = context.new_page()
        start_without_script(page)
        shown = page.locator("#pane time").first
        expect(shown).to_have_text(re.compile(r"^\d\d:\d\d UTC$"))
        utc = datetime.fromisoformat(shown.get_attribute("datetime")).astimezone(timezone.utc)
        assert shown.text_content() == f"{utc:%H:%M} UTC"
    finally:
        context.close()


def start_without_script(page: Any, name: str = "NoJS") -> None:
    page.goto("/")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Start chat").click()
    expect(page).to_have_url(re.compile(r"/chat/$"))


# -- accessibility ------------------------------------------------------------------------------


def _assert_contrast(page: Any, where: str) -> None:
    low = [c for c in checks.contrast(page) if c["ratio"] < c["required"]]
    assert not low, f"{where}: text below WCAG AA contrast: {low}"
    weak = [c for c in checks.control_contrast(page) if c["ratio"] < c["required"]]
    assert not weak, f"{where}: controls below 3:1 against their surroundings: {weak}"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_state_of_the_page_meets_wcag_aa_contrast(new_page: Any, size: str) -> None:
    page = new_page(viewport=SIZES[size])
    page.goto("/")
    _assert_contrast(page, "start page")
    start_chat(page)
    send(page, "contrast check")
    mine = page.locator("li.message.mine", has_text="contrast check")
    expect(mine.locator(".receipt")).to_have_text("Read", timeout=WAIT)
    page.locator("#upload-form input[type=file]").set_input_files(
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" * 50}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("a.attachment", has_text="receipt.pdf")).to_have_count(1, timeout=WAIT)
    page.evaluate(
        """() => window.chatEvents.render({id: 't', kind: 'typing', type: 'EVENT', participant_id: 'echo',
              display_name: 'Echo agent', attachments: []})"""
    )
    _refused_upload(page)
    expect(page.locator("#upload-error")).to_be_visible()
    _assert_contrast(page, "live chat")
    ring = checks.focus_ring(page.locator("#message-form textarea").focus() or page)
    assert ring["style"] != "none" and ring["width"] >= 2 and ring["ratio"] >= 3, ring
    page.get_by_role("link", name="End chat").click()
    expect(page.locator("#end-dialog")).to_be_visible()
    _assert_contrast(page, "the end dialog")
    page.locator("#end-dialog").get_by_role("button", name="End chat").click()
    expect(page.locator("#chat-ended")).to_be_visible()
    _assert_contrast(page, "after the end")


def test_the_unreachable_state_meets_wcag_aa_contrast(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    page.route("**/chat/health/", lambda route: route.fulfill(status=503, json={"unavailable": True}))
    page.route("**/chat/events/**", lambda route: route.fulfill(status=503, body="unavailable"))
    page.evaluate("window.chatEvents.reconnect()")
    expect(page.locator("#connection-alert")).to_be_visible(timeout=WAIT)
    _assert_contrast(page, "service unreachable")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_focus_is_in_the_message_box_after_the_start_and_after_each_send(new_page: Any, size: str) -> None:
    page = new_page(viewport=SIZES[size])
    start_chat(page)
    textarea = page.locator("#message-form textarea")
    expect(textarea).to_be_focused()
    send(page, "sent with the button")  # the click moves focus to the button; the send brings it back
    expect(messages(page, "sent with the button")).to_have_count(1, timeout=WAIT)
    expect(textarea).to_be_focused()
    textarea.type("sent with Enter")
    textarea.press("Enter")
    expect(messages(page, "sent with Enter")).to_have_count(1, timeout=WAIT)
    expect(textarea).to_be_focused()
    expect(textarea).to_have_value("")


def test_every_control_has_a_name(new_page: Any) -> None:
    page = new_page()
    page.goto("/")
    assert checks.unnamed_controls(page) == []
    start_chat(page)
    assert checks.unnamed_controls(page) == []
    page.get_by_role("link", name="End chat").click()
    assert checks.unnamed_controls(page) == []
    expect(page.get_by_role("dialog", name="End this chat?")).to_be_visible()


def test_one_polite_live_region_reads_only_what_others_say(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    regions = checks.live_regions(page)
    assert regions["polite"] == ["announcer"], regions
    assert sorted(regions["assertive"]) == ["connection-alert", "message-error", "upload-error"], regions
    send(page, "do not read me back")
    mine = page.locator("li.message.mine", has_text="do not read me back")
    expect(mine.locator(".receipt")).to_have_text("Read", timeout=WAIT)
    expect(messages(page, "Echo: do not read me back")).to_have_count(1, timeout=WAIT)
    announced = page.eval_on_selector_all("#announcer > *", "els => els.map(e => e.textContent)")
    assert announced == ["Echo agent: Echo: do not read me back"]
    assert page.locator("ol.transcript").get_attribute("aria-live") is None


def _refused_upload(page: Any) -> None:
    page.locator("#upload-form input[type=file]").set_input_files(
        {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"}
    )
    page.get_by_role("button", name="Upload").click()


def test_errors_are_alerts_next_to_their_field(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    _refused_upload(page)
    error = page.get_by_role("alert").filter(has_text="allowed attachment types are")
    expect(error).to_be_visible()
    field = page.locator("#upload-form input[type=file]")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "upload-error")


# -- ending -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "small phone"])
def test_ending_asks_first_and_leaves_the_conversation_readable(new_page: Any, size: str) -> None:
    page = new_page(viewport=SIZES[size])
    start_chat(page, "Ann")
    first_chat = page.locator("#chat").get_attribute("data-contact-id")
    send(page, "before the end")
    expect(messages(page, "Echo: before the end")).to_have_count(1, timeout=WAIT)
    page.get_by_role("link", name="End chat").click()
    dialog = page.get_by_role("dialog", name="End this chat?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Keep chatting")).to_be_focused()
    dialog.get_by_role("button", name="Keep chatting").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#live-status")).to_have_text("live")  # nothing ended
    page.get_by_role("link", name="End chat").click()
    dialog.get_by_role("button", name="End chat").click()
    expect(page.locator("#chat-ended")).to_contain_text("You left the chat.")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "ended")
    expect(messages(page, "before the end")).to_be_visible()  # still there to read
    expect(messages(page, "Echo: before the end")).to_be_visible()
    expect(page.locator("#message-form")).to_be_hidden()
    new_chat = page.get_by_role("button", name="Start a new chat")
    expect(new_chat).to_be_focused()
    new_chat.click()
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT)
    assert page.locator("#chat").get_attribute("data-contact-id") != first_chat
    expect(page.locator("p.you")).to_have_text("You are Ann")


def test_without_javascript_ending_asks_first_and_leaves_the_conversation_readable(
    browser: Any, servers: dict[str, str]
) -> None:
    context = browser.new_context(base_url=servers["site"], java_script_enabled=False)
    try:
        page = context.new_page()
        start_without_script(page, "Ann")
        page.locator("#message-form textarea").fill("plain goodbye")
        page.get_by_role("button", name="Send", exact=True).click()
        page.get_by_role("link", name="End chat").click()
        expect(page.get_by_role("heading", name="End this chat?")).to_be_visible()
        page.get_by_role("button", name="End chat").click()
        expect(page).to_have_url(re.compile(r"/chat/ended/#latest$"))
        expect(messages(page, "plain goodbye")).to_be_visible()
        expect(page.locator("#chat-ended")).to_contain_text("You left the chat.")
        page.get_by_role("button", name="Start a new chat").click()
        expect(page).to_have_url(re.compile(r"/chat/$"))
        expect(page.locator("#message-form textarea")).to_be_visible()
    finally:
        context.close()
