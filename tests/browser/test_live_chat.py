"""The Django example's live page in headless Chromium (see conftest.py for what runs).

Every wait is bounded (Playwright's expect: 15 s at most); nothing asserts how long anything took.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .conftest import EVENTS_MAX_SECONDS, require_playwright

expect = require_playwright()

WAIT = 15_000  # ms


def start_chat(page: Any, name: str = "Ann") -> None:
    page.goto("/")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Start chat").click()
    expect(page).to_have_url(re.compile(r"/chat/$"))
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT)


def send(page: Any, text: str) -> None:
    page.locator("#message-form textarea").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def messages(page: Any, text: str) -> Any:
    return page.locator("li.message .content", has_text=re.compile("^" + re.escape(text) + "$"))


def mark_page(page: Any) -> None:
    page.evaluate("window.__notReloaded = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def item_ids(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("ol.transcript li[data-id]", "els => els.map(e => e.dataset.id)"))


def test_a_reply_appears_without_a_reload(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    mark_page(page)
    send(page, "hello there")
    expect(messages(page, "hello there")).to_have_count(1, timeout=WAIT)
    expect(messages(page, "Echo: hello there")).to_have_count(1, timeout=WAIT)
    assert_not_reloaded(page)
    expect(page.locator("#message-form textarea")).to_have_value("")


def test_typing_shows_then_goes_and_is_never_a_transcript_line(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    # The indicator may show for only a moment on a busy machine: the page records each change.
    page.evaluate(
        """() => { window.__typingSeen = [];
                   const line = document.getElementById('typing');
                   new MutationObserver(() => { if (!line.hidden) window.__typingSeen.push(line.textContent); })
                     .observe(line, {attributes: true, childList: true, characterData: true, subtree: true}); }"""
    )
    send(page, "are you there?")
    expect(messages(page, "Echo: are you there?")).to_have_count(1, timeout=WAIT)
    seen = page.evaluate("window.__typingSeen")
    assert "Echo agent is typing\u2026" in seen, seen
    typing = page.locator("#typing")
    expect(typing).to_be_hidden()
    expect(page.locator("ol.transcript li", has_text="typing")).to_have_count(0)


def test_read_shows_under_my_own_message(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    send(page, "please read me")
    mine = page.locator("li.message.mine", has_text="please read me")
    expect(mine.locator(".receipt")).to_have_text("Read", timeout=WAIT)
    expect(messages(page, "Echo: please read me")).to_have_count(1, timeout=WAIT)
    expect(page.locator("li.message:not(.mine) .receipt")).to_have_count(0)
    # The page without JavaScript's help shows it too.
    page.reload()
    expect(page.locator("li.message.mine", has_text="please read me").locator(".receipt")).to_have_text("Read")


def test_a_reload_repeats_and_loses_nothing(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    for n in range(3):
        send(page, f"before reload {n}")
        expect(messages(page, f"Echo: before reload {n}")).to_have_count(1, timeout=WAIT)
    page.reload()
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT)
    send(page, "after reload")
    expect(messages(page, "Echo: after reload")).to_have_count(1, timeout=WAIT)
    for n in range(3):
        expect(messages(page, f"before reload {n}")).to_have_count(1)
        expect(messages(page, f"Echo: before reload {n}")).to_have_count(1)
    ids = item_ids(page)
    assert len(ids) == len(set(ids))


def test_dropped_event_streams_repeat_and_lose_nothing(new_page: Any) -> None:
    """The server ends each event stream after a few seconds and the page drops one itself;
    replies that arrive across those reconnects each appear exactly once."""
    page = new_page()
    start_chat(page)
    mark_page(page)
    reconnects = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/chat/events/')).length"
    )
    for n in range(4):
        send(page, f"across drops {n}")
        if n == 1:
            page.evaluate("window.chatEvents.reconnect()")  # a stream the page drops by itself
        expect(messages(page, f"Echo: across drops {n}")).to_have_count(1, timeout=WAIT)
        page.wait_for_timeout(EVENTS_MAX_SECONDS * 1000 / 2)  # let the server end a stream now and then
    for n in range(4):
        expect(messages(page, f"across drops {n}")).to_have_count(1)
        expect(messages(page, f"Echo: across drops {n}")).to_have_count(1)
    ids = item_ids(page)
    assert len(ids) == len(set(ids))
    opened = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/chat/events/')).length"
    )
    assert opened > max(reconnects, 1), "the event stream was never re-opened"
    assert_not_reloaded(page)


def test_a_double_clicked_send_sends_once(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    page.locator("#message-form textarea").fill("only once")
    page.get_by_role("button", name="Send", exact=True).dblclick()
    expect(messages(page, "Echo: only once")).to_have_count(1, timeout=WAIT)
    page.wait_for_timeout(1000)  # a second echo would have come by now
    expect(messages(page, "only once")).to_have_count(1)
    expect(messages(page, "Echo: only once")).to_have_count(1)
    page.reload()  # and the transcript itself holds it once
    expect(messages(page, "only once")).to_have_count(1)


def record_changes(page: Any, selector: str, name: str) -> None:
    """Record in ``window[name]`` the text of each element matching ``selector`` as it is
    added or changed (a state may last only a moment on a fast machine)."""
    page.evaluate(
        """([selector, name]) => { window[name] = [];
             const note = () => document.querySelectorAll(selector).forEach((el) => {
               const seen = window[name]; const text = el.dataset.state || el.textContent;
               if (seen[seen.length - 1] !== text) seen.push(text); });
             new MutationObserver(note).observe(document.body,
               {subtree: true, childList: true, characterData: true, attributes: true}); }""",
        [selector, name],
    )


def test_the_page_shows_its_connection_state(new_page: Any) -> None:
    page = new_page()
    page.add_init_script(  # before the page's own script: every state it sets is seen
        """window.__states = [];
           new MutationObserver((changes) => changes.forEach((c) => {
               if (c.target.id === "live-status") window.__states.push(c.target.dataset.state); }))
             .observe(document, {subtree: true, attributes: true, attributeFilter: ["data-state"]});"""
    )
    start_chat(page)
    states = page.evaluate("window.__states")
    assert states[:2] == ["connecting", "live"], states
    page.evaluate("window.chatEvents.reconnect()")
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT)
    assert "reconnecting" in page.evaluate("window.__states")


def test_an_uploaded_attachment_shows_up(new_page: Any, tmp_path: Path) -> None:
    page = new_page()
    start_chat(page)
    mark_page(page)
    record_changes(page, "li.pending .attachment-status", "__uploading")
    notes = tmp_path / "notes.txt"
    notes.write_text("some notes\n")
    page.locator("#upload-form input[type=file]").set_input_files(str(notes))
    page.get_by_role("button", name="Upload").click()
    link = page.locator("li.attachment-item a.attachment", has_text="notes.txt")
    expect(link).to_have_count(1, timeout=WAIT)
    expect(link).to_have_attribute("href", re.compile(r"^/chat/attachments/[^/]+/$"))
    item = page.locator("li.attachment-item.mine", has=page.locator("a.attachment", has_text="notes.txt"))
    expect(item.locator(".attachment-size")).to_have_text("11\u00a0bytes")
    expect(page.locator("li.pending")).to_have_count(0)  # "Uploading…" gave way to the item itself
    assert page.evaluate("window.__uploading") == ["Uploading\u2026"]
    expect(page.locator("li.message .content", has_text="Thanks, I got notes.txt.")).to_have_count(1, timeout=WAIT)
    assert_not_reloaded(page)


def test_two_customers_do_not_see_each_others_chats(new_page: Any) -> None:
    ann, zoe = new_page(), new_page()
    start_chat(ann, "Ann")
    start_chat(zoe, "Zoe")
    send(ann, "from Ann")
    send(zoe, "from Zoe")
    expect(messages(ann, "Echo: from Ann")).to_have_count(1, timeout=WAIT)
    expect(messages(zoe, "Echo: from Zoe")).to_have_count(1, timeout=WAIT)
    assert "from Zoe" not in ann.content()
    assert "from Ann" not in zoe.content()
    assert ann.locator("#chat").get_attribute("data-contact-id") != zoe.locator("#chat").get_attribute(
        "data-contact-id"
    )


def test_the_chats_end_is_shown(new_page: Any, servers: dict[str, str]) -> None:
    import boto3

    page = new_page()
    start_chat(page)
    contact_id = page.locator("#chat").get_attribute("data-contact-id")
    connect = boto3.client(
        "connect",
        region_name="us-east-1",
        endpoint_url=servers["backend"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    connect.stop_contact(ContactId=contact_id, InstanceId="local")
    expect(page.locator("#chat-ended")).to_be_visible(timeout=WAIT)
    expect(page.locator("#chat-ended")).to_contain_text("The chat has ended.")
    expect(page.locator("li .chat-ended")).to_have_count(1)
    expect(page.locator("#message-form textarea")).to_be_disabled()
    expect(page.locator("#message-form")).to_be_hidden()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "ended")
    expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()


def test_a_streamed_reply_grows_in_place(new_page: Any) -> None:
    """Pieces of a Lex streamed reply share one id: each replaces the last (fed to the page's renderer)."""
    page = new_page()
    start_chat(page)
    page.evaluate(
        """() => { const base = {id: 'lex-1', kind: 'message', type: 'MESSAGE', role: 'SYSTEM',
                   display_name: 'Bot', time: new Date().toISOString(), attachments: []};
                   window.chatEvents.render({...base, content: 'Hel', complete: false});
                   window.chatEvents.render({...base, content: 'Hello, how', complete: false}); }"""
    )
    grow = page.locator("li.message[data-id='lex-1']")
    expect(grow).to_have_count(1)
    expect(grow).to_have_class(re.compile(r"\bpartial\b"))
    expect(grow.locator(".content")).to_have_text("Hello, how")
    page.evaluate(
        """() => window.chatEvents.render({id: 'lex-1', kind: 'message', type: 'MESSAGE', role: 'SYSTEM',
              display_name: 'Bot', time: new Date().toISOString(), attachments: [],
              content: 'Hello, how can I help?', complete: true})"""
    )
    expect(grow).to_have_count(1)
    expect(grow.locator(".content")).to_have_text("Hello, how can I help?")
    expect(grow).not_to_have_class(re.compile(r"\bpartial\b"))
    # A piece that comes late (a replay) never shrinks the finished reply.
    page.evaluate(
        """() => window.chatEvents.render({id: 'lex-1', kind: 'message', type: 'MESSAGE', role: 'SYSTEM',
              display_name: 'Bot', time: new Date().toISOString(), attachments: [],
              content: 'Hel', complete: false})"""
    )
    expect(grow.locator(".content")).to_have_text("Hello, how can I help?")


def test_without_javascript_the_forms_still_work(browser: Any, servers: dict[str, str]) -> None:
    context = browser.new_context(base_url=servers["site"], java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_label("Your name").fill("NoJS")
        page.get_by_role("button", name="Start chat").click()
        page.locator("#message-form textarea").fill("plain post")
        page.get_by_role("button", name="Send", exact=True).click()  # a full page post and redirect
        expect(messages(page, "plain post")).to_have_count(1)
        expect(page.get_by_role("link", name="Refresh")).to_be_visible()
    finally:
        context.close()


def test_an_attachment_being_scanned_becomes_a_link(new_page: Any, tmp_path: Path) -> None:
    """An item whose attachment is IN_PROGRESS shows "scanning", and the page polls its status
    until it is APPROVED (the local server approves at once: the item is fed to the renderer)."""
    page = new_page()
    start_chat(page)
    report = tmp_path / "report.txt"
    report.write_text("report\n")
    page.locator("#upload-form input[type=file]").set_input_files(str(report))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("a.attachment", has_text="report.txt")).to_have_count(1, timeout=WAIT)
    attachment_id = page.locator("a.attachment", has_text="report.txt").get_attribute("href").split("/")[-2]
    page.evaluate(
        """(id) => window.chatEvents.render({id: 'scan-1', kind: 'attachment', type: 'ATTACHMENT',
              role: 'CUSTOMER', display_name: 'Ann', time: new Date().toISOString(),
              attachments: [{id: id, name: 'scanned.txt', content_type: 'text/plain', status: 'IN_PROGRESS'}]})""",
        attachment_id,
    )
    item = page.locator("li[data-id='scan-1']")
    expect(item.locator(".attachment-status")).to_have_text("Scanning\u2026")
    expect(item.locator("a.attachment")).to_have_text("scanned.txt", timeout=WAIT)
    expect(item).not_to_contain_text("Scanning")
    expect(item.locator(".attachment-size")).to_have_text("7\u00a0bytes")  # "report\n", asked of the server
    page.evaluate(
        """(id) => window.chatEvents.render({id: 'rejected-1', kind: 'attachment', type: 'ATTACHMENT',
              role: 'AGENT', display_name: 'Agent', time: new Date().toISOString(),
              attachments: [{id: 'no-such', name: 'virus.exe', content_type: 'text/plain', status: 'REJECTED'}]})"""
    )
    rejected = page.locator("li[data-id='rejected-1']")
    expect(rejected.locator(".attachment-status")).to_have_text("Rejected")
    expect(rejected.locator("a")).to_have_count(0)  # nothing to download


def test_under_asgi_a_reply_appears_and_a_reload_repeats_nothing(new_page: Any, asgi_site: str) -> None:
    page = new_page(base_url=asgi_site)
    start_chat(page, "Asgi")
    mark_page(page)
    send(page, "over asgi")
    expect(messages(page, "Echo: over asgi")).to_have_count(1, timeout=WAIT)
    assert_not_reloaded(page)
    page.wait_for_timeout(EVENTS_MAX_SECONDS * 1000)  # across a server-ended stream
    send(page, "again over asgi")
    expect(messages(page, "Echo: again over asgi")).to_have_count(1, timeout=WAIT)
    page.reload()
    expect(messages(page, "over asgi")).to_have_count(1)
    expect(messages(page, "Echo: again over asgi")).to_have_count(1)
    ids = item_ids(page)
    assert len(ids) == len(set(ids))


def _join_as_bot(backend_url: str, contact_id: str, name: str) -> Any:
    """Take the other side of a chat through the library, as ``connectparticipant-ext start
    --join`` does: ``connect.create_participant`` (a CUSTOM_BOT), then a connection of its own."""
    import boto3

    from connectparticipant_ext import ChatService

    connect = boto3.client(
        "connect",
        region_name="us-east-1",
        endpoint_url=backend_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    joined = connect.create_participant(
        InstanceId="local",
        ContactId=contact_id,
        ParticipantDetails={"DisplayName": name, "ParticipantRole": "CUSTOM_BOT"},
    )
    chat = ChatService(region_name="us-east-1", endpoint_url=backend_url)
    return chat.Participant(joined["ParticipantCredentials"]["ParticipantToken"]).create_connection(websocket=False)


def _wait_for_message(conn: Any, text: str) -> Any:
    import time

    deadline = time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        found = [i for i in conn.transcript if i.is_message and i.content == text]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never reached the other side")


def test_a_participant_driven_by_the_library_shows_typing_and_read(new_page: Any, quiet_site: dict[str, Any]) -> None:
    """The other side is not the echo agent but a participant of its own (the CLI's way):
    its typing, its read receipt and its answer show on the page."""
    page = new_page(base_url=quiet_site["site"])
    start_chat(page)
    contact_id = page.locator("#chat").get_attribute("data-contact-id")
    sam = _join_as_bot(quiet_site["backend"], contact_id, "Sam")
    try:
        expect(page.locator("li.event-item", has_text="Sam joined the chat")).to_have_count(1, timeout=WAIT)
        sam.send_typing()
        expect(page.locator("#typing")).to_have_text("Sam is typing\u2026", timeout=WAIT)
        send(page, "hello Sam")
        mine = page.locator("li.message.mine", has_text="hello Sam")
        expect(mine).to_have_count(1, timeout=WAIT)
        sam.send_read_receipt(_wait_for_message(sam, "hello Sam").id)
        expect(mine.locator(".receipt")).to_have_text("Read", timeout=WAIT)
        sam.send_message("Hi Ann, Sam here.")
        answer = page.locator("li.message:not(.mine)", has_text="Hi Ann, Sam here.")
        expect(answer.locator(".who")).to_have_text("Sam", timeout=WAIT)
        expect(page.locator("#typing")).to_be_hidden()  # an answer ends the typing
        # Everyone else who types is shown, not only the first.
        kim = _join_as_bot(quiet_site["backend"], contact_id, "Kim")
        try:
            expect(page.locator("li.event-item", has_text="Kim joined the chat")).to_have_count(1, timeout=WAIT)
            sam.send_typing(force=True)  # within the library's typing throttle of its first one
            kim.send_typing()
            expect(page.locator("#typing")).to_have_text(
                re.compile("^(Sam and Kim|Kim and Sam) are typing\u2026$"), timeout=WAIT
            )
        finally:
            kim.disconnect()
    finally:
        sam.disconnect()
