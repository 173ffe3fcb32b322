/* Live chat: progressive enhancement of the server-rendered page (which works without it).
 * - GET events_url is a text/event-stream of chat items (connectparticipant_ext.sse). The page
 *   opens it after the last item it shows; the browser reconnects by itself with Last-Event-ID.
 * - Sends and uploads go through fetch with the form's idempotency token; the item itself
 *   arrives through the event stream, so it is shown once however often a form is submitted.
 * No innerHTML: every text goes in through textContent.
 */
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root || !window.EventSource || !window.fetch || !window.FormData) return;
  var me = root.dataset.me;
  var list = root.querySelector(".transcript");
  var typingLine = document.getElementById("typing");
  var statusLine = document.getElementById("live-status");
  var endedBanner = document.getElementById("chat-ended");
  var byId = new Map();
  var typingTimers = new Map();
  var typingNames = new Map();
  list.querySelectorAll("li[data-id]").forEach(function (li) { byId.set(li.dataset.id, li); });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function timeOf(p) {
    var t = el("time");
    if (p.time) {
      var d = new Date(p.time);
      t.dateTime = p.time;
      t.textContent = d.toISOString().substring(11, 19);
    }
    return t;
  }
  function urlFor(template, id) { return template.replace("ATTACHMENT_ID", encodeURIComponent(id)); }
  function setStatus(text) { statusLine.hidden = !text; statusLine.textContent = text || ""; }

  // -- typing: a transient line under the transcript, never an item ------------------------
  function showTyping() {
    var names = Array.from(typingNames.values());
    typingLine.hidden = names.length === 0;
    typingLine.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " typing\u2026" : "";
  }
  function typingStarted(p) {
    var who = p.participant_id || "?";
    typingNames.set(who, p.display_name || "Someone");
    clearTimeout(typingTimers.get(who));
    typingTimers.set(who, setTimeout(function () { typingStopped(who); }, 6000));
    showTyping();
  }
  function typingStopped(who) {
    clearTimeout(typingTimers.get(who));
    typingTimers.delete(who);
    typingNames.delete(who);
    showTyping();
  }

  // -- items ---------------------------------------------------------------------------------
  function line(p, kind) {
    var li = el("li", "item " + kind + (p.participant_id && p.participant_id === me ? " mine" : ""));
    li.dataset.id = p.id;
    li.appendChild(timeOf(p));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "who", p.display_name || "System"));
    li.appendChild(document.createTextNode(": "));
    return li;
  }
  function place(id, li) {
    var old = id ? byId.get(id) : null;
    if (old) { old.replaceWith(li); } else {
      var empty = list.querySelector("li.empty");
      if (empty) empty.remove();
      list.appendChild(li);
    }
    if (id) byId.set(id, li);
    li.scrollIntoView({ block: "nearest" });
  }
  function attachmentNode(a) {
    var span = el("span", "attachment-entry");
    if (a.status === "REJECTED") {
      span.appendChild(el("span", "attachment rejected", a.name + " (rejected)"));
    } else if (a.status === "IN_PROGRESS") {
      span.appendChild(el("span", "attachment scanning", a.name));
      span.appendChild(el("span", "scan-status", " (scanning)"));
      pollAttachment(a, span, 0);
    } else {
      var link = el("a", "attachment", a.name);
      link.href = urlFor(root.dataset.attachmentUrl, a.id);
      span.appendChild(link);
    }
    return span;
  }
  function pollAttachment(a, span, tries) {
    if (tries > 120) return;
    setTimeout(function () {
      fetch(urlFor(root.dataset.attachmentStatusUrl, a.id), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.status && s.status !== "IN_PROGRESS") {
            span.replaceWith(attachmentNode({ id: a.id, name: a.name, status: s.status }));
          } else { pollAttachment(a, span, tries + 1); }
        })
        .catch(function () { pollAttachment(a, span, tries + 1); });
    }, 1000);
  }
  var EVENT_TEXT = { "participant.joined": "joined the chat", "participant.left": "left the chat" };

  function render(p) {
    if (p.kind === "typing") { if (p.participant_id !== me) typingStarted(p); return; }
    if (p.kind === "receipt") { receipt(p); return; }
    var known = p.id && byId.has(p.id);
    // Already shown; only a streamed reply still growing (class "partial") takes a newer piece.
    if (known && (p.kind !== "message" || !byId.get(p.id).classList.contains("partial"))) return;
    var li;
    if (p.kind === "message") {
      typingStopped(p.participant_id || "?");
      li = line(p, "message" + (p.complete ? "" : " partial"));
      li.appendChild(el("span", "content", p.content || ""));
      var old = known ? byId.get(p.id).querySelector(".receipt") : null;
      if (old) li.appendChild(old);
    } else if (p.kind === "attachment") {
      typingStopped(p.participant_id || "?");
      li = line(p, "attachment-item");
      p.attachments.forEach(function (a) { li.appendChild(attachmentNode(a)); });
    } else if (p.kind === "ended") {
      li = line(p, "event-item");
      li.appendChild(el("span", "event chat-ended", "the chat ended"));
      chatEnded();
    } else {
      li = line(p, "event-item");
      li.appendChild(el("span", "event", EVENT_TEXT[p.event] || p.event || p.type));
      if (p.event === "participant.left") typingStopped(p.participant_id || "?");
    }
    place(p.id, li);
  }
  function receipt(p) {
    var li = byId.get(p.message_id);
    if (!li || !li.classList.contains("mine")) return;               // "read" goes under my own messages
    var others = (p.receipts || []).filter(function (r) { return r.participant_id !== me; });
    var read = others.some(function (r) { return r.read; });
    var delivered = others.some(function (r) { return r.delivered; });
    if (!read && !delivered) return;
    var mark = li.querySelector(".receipt");
    if (!mark) { mark = el("span", "receipt"); li.appendChild(mark); }
    if (read || mark.textContent !== "Read") mark.textContent = read ? "Read" : "Delivered";
  }

  // -- the event stream ------------------------------------------------------------------------
  var source = null;
  function chatEnded() {
    if (source) source.close();
    setStatus("");
    typingNames.clear(); showTyping();
    endedBanner.hidden = false;
    ["message-form", "upload-form"].forEach(function (id) {
      var form = document.getElementById(id);
      if (form) form.querySelectorAll("textarea, input, button").forEach(function (c) { c.disabled = true; });
    });
  }
  var since = root.dataset.lastId;   // the last item shown that the transcript keeps
  function connect() {
    var url = root.dataset.eventsUrl;
    if (since) url += "?since=" + encodeURIComponent(since);
    source = new EventSource(url);
    source.onopen = function () { setStatus("live"); };
    source.onmessage = function (e) {
      if (e.lastEventId) since = e.lastEventId;
      render(JSON.parse(e.data));
    };
    source.addEventListener("end", function (e) {
      var reason = null;
      try { reason = JSON.parse(e.data).reason; } catch (err) { /* an end without a reason */ }
      if (reason === "replaced") {          // this chat is open in newer tabs: they go on, this one rests
        source.close();
        setStatus("live updates moved to another tab: reload to bring them here");
        return;
      }
      chatEnded();
    });
    source.addEventListener("reset", function () {
      // The server did not know where this page left off: the whole chat follows, so start over.
      list.replaceChildren();
      byId.clear();
    });
    source.addEventListener("failed", function () { source.close(); setStatus("live updates stopped: reload the page"); });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) setStatus("live updates stopped: reload the page");
      else setStatus("reconnecting\u2026");
    };
  }
  // For tests and debugging: drop the event stream and open a new one, resuming where it was.
  window.chatEvents = { reconnect: function () { if (source) source.close(); connect(); }, render: render };
  connect();

  // -- forms through fetch -----------------------------------------------------------------------
  function enhance(form, onDone) {
    if (!form) return;
    var busy = false;
    var error = form.querySelector(".form-error");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;                                   // a double click sends once
      busy = true;
      var button = form.querySelector("button");
      button.disabled = true;
      error.hidden = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value }
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
      }).then(function (res) {
        if (res.ok) {
          onDone(form);
          var token = form.querySelector("input[name$='client_token']");
          if (token && res.body.client_token) token.value = res.body.client_token;   // a fresh token, a new message
        } else if (res.body.ended) {
          chatEnded();
        } else {
          var errors = res.body.errors ? Object.values(res.body.errors).flat() : [res.body.error || "Could not send; try again."];
          error.textContent = errors.join(" "); error.hidden = false;   // the token stays: a retry sends once
        }
      }).catch(function () {
        error.textContent = "Could not reach the server; try again."; error.hidden = false;
      }).finally(function () { busy = false; button.disabled = false; });
    });
  }
  enhance(document.getElementById("message-form"), function (form) {
    form.querySelector("textarea").value = "";
    form.querySelector("textarea").focus();
  });
  enhance(document.getElementById("upload-form"), function (form) {
    form.querySelector("input[type=file]").value = "";
  });

  // -- my typing: at most one notice every 5 s while I type ----------------------------------
  var lastTyping = 0;
  var textarea = document.querySelector("#message-form textarea");
  var typingForm = document.getElementById("message-form");
  if (textarea) {
    textarea.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < 5000 || !textarea.value) return;
      lastTyping = now;
      fetch(root.dataset.typingUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": typingForm.elements.csrfmiddlewaretoken.value }
      }).catch(function () {});
    });
    textarea.addEventListener("keydown", function (e) {   // Enter sends, Shift+Enter is a new line
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); typingForm.requestSubmit(); }
    });
  }
  document.getElementById("refresh").hidden = true;
})();
