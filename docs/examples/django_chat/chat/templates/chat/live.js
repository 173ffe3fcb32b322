/* Live chat: progressive enhancement of the server-rendered page (which works without it).
 * - Times are shown in the browser's own time zone and language (the server writes UTC);
 *   each <time> keeps its datetime attribute.
 * - GET events_url is a text/event-stream of chat items (connectparticipant_ext.sse). The page
 *   opens it after the last item it shows; the browser reconnects by itself with Last-Event-ID.
 *   When the chat service cannot be reached the page says so and tries again by itself.
 * - Sends and uploads go through fetch with the form's idempotency token; the item itself
 *   arrives through the event stream, so it is shown once however often a form is submitted.
 *   The token is renewed whenever the text (or file) changes, so an edited retry is a new send.
 * - One polite live region (#announcer) reads out new messages from others, nothing else.
 * No innerHTML: every text goes in through textContent.
 */
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root) return;
  var pane = document.getElementById("pane");
  var list = root.querySelector(".transcript");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // -- times: the browser's zone and language ------------------------------------------------
  var formats = window.Intl ? {
    time: new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" }),
    dayTime: new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }),
    full: new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" })
  } : null;
  function showTime(t) {
    var d = new Date(t.dateTime);
    if (!formats || isNaN(d.getTime())) return;
    var today = new Date().toDateString() === d.toDateString();
    t.textContent = (today ? formats.time : formats.dayTime).format(d);
    t.title = formats.full.format(d);
  }
  function timeOf(p) {
    var t = el("time");
    if (p.time) { t.dateTime = p.time; showTime(t); }
    return t;
  }
  root.querySelectorAll("time[datetime]").forEach(showTime);
  // The conversation stays at its newest line while it grows (new lines, receipts, sizes),
  // unless the customer has scrolled up to read.
  var atEnd = true;
  function scrollToEnd() { pane.scrollTop = pane.scrollHeight; atEnd = true; }
  pane.addEventListener("scroll", function () { atEnd = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80; });
  if (window.MutationObserver) {
    new MutationObserver(function () { if (atEnd) scrollToEnd(); })
      .observe(list, { childList: true, subtree: true, characterData: true });
  }
  if (window.ResizeObserver) {                     // the composer grows, the screen turns
    new ResizeObserver(function () { if (atEnd) scrollToEnd(); }).observe(pane);
  }
  scrollToEnd();

  if (root.dataset.ended || !window.EventSource || !window.fetch || !window.FormData) return;
  var me = root.dataset.me;
  var typingLine = document.getElementById("typing");
  var statusLine = document.getElementById("live-status");
  var endedBanner = document.getElementById("chat-ended");
  var alertBox = document.getElementById("connection-alert");
  var announcer = document.getElementById("announcer");
  var EVENT_TEXT = JSON.parse(document.getElementById("event-text").textContent);
  var HIDDEN_EVENTS = JSON.parse(document.getElementById("hidden-events").textContent);
  var byId = new Map();
  var sizes = new Map();       // attachment id -> bytes, for the files whose size is known
  var typingTimers = new Map();
  var typingNames = new Map();
  list.querySelectorAll("li[data-id]").forEach(function (li) { byId.set(li.dataset.id, li); });
  list.querySelectorAll("[data-attachment-id] .attachment-size").forEach(function (s) {
    sizes.set(s.parentNode.dataset.attachmentId, Number(s.dataset.bytes));
  });

  function urlFor(template, id) { return template.replace("ATTACHMENT_ID", encodeURIComponent(id)); }
  function announce(text) {                      // the one live region: only others' new messages
    announcer.appendChild(el("p", null, text));
    while (announcer.childNodes.length > 5) announcer.removeChild(announcer.firstChild);
  }
  function formatSize(n) {                       // as Django's filesizeformat writes it
    var KB = 1024, MB = KB * KB, GB = MB * KB;
    var text = n < KB ? n + (n === 1 ? " byte" : " bytes") : n < MB ? (n / KB).toFixed(1) + " KB"
      : n < GB ? (n / MB).toFixed(1) + " MB" : (n / GB).toFixed(1) + " GB";
    return text.replace(" ", "\u00a0");
  }
  function newToken() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.from(b, function (x) { return (x + 0x100).toString(16).substring(1); }).join("");
    return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-" + h.substring(20);
  }

  // -- the connection's state: connecting, live, reconnecting, ended, unavailable --------------
  var STATE_TEXT = {
    connecting: "connecting\u2026", live: "live", reconnecting: "reconnecting\u2026",
    ended: "chat ended", unavailable: "offline",
    moved: "live updates moved to another tab: reload to bring them here"
  };
  var retryDelay = 0, retryTimer = null, healthyTimer = null;
  function setStatus(state) {
    if (state === "live") {
      alertBox.hidden = true;
      clearTimeout(healthyTimer);       // back to short retries once the stream has held a while
      healthyTimer = setTimeout(function () { retryDelay = 0; }, 20000);
    }
    statusLine.hidden = !state;
    statusLine.dataset.state = state || "";
    statusLine.textContent = STATE_TEXT[state] || state || "";
  }
  // The service cannot be reached: say so once (role="alert"), then ask /chat/health/ with
  // growing pauses (2, 4, 8... 30 s) and open the event stream again when it answers.
  function unavailable() {
    if (!endedBanner.hidden) return;
    if (source) source.close();
    clearTimeout(retryTimer); clearTimeout(healthyTimer);
    setStatus("unavailable");
    if (alertBox.hidden) {
      alertBox.querySelector(".alert-text").textContent =
        "Can\u2019t reach the chat service. Trying again by itself\u2026";
      alertBox.hidden = false;
    }
    retryDelay = Math.min(retryDelay ? retryDelay * 2 : 2, 30);
    retryTimer = setTimeout(retryNow, retryDelay * 1000);
  }
  function retryNow() {
    clearTimeout(retryTimer);
    fetch(root.dataset.healthUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.ok) connect();
        else if (r.status === 410) chatEnded();
        else unavailable();
      })
      .catch(unavailable);
  }
  document.getElementById("retry-now").addEventListener("click", retryNow);

  // -- typing: a transient line under the conversation, never an item -------------------------
  function showTyping() {
    var names = Array.from(typingNames.values());
    typingLine.hidden = names.length === 0;
    var who = names.length > 1 ? names.slice(0, -1).join(", ") + " and " + names[names.length - 1] : names[0];
    typingLine.textContent = names.length ? who + (names.length > 1 ? " are" : " is") + " typing\u2026" : "";
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

  // -- items: the same markup as chat.html -----------------------------------------------------
  function isMine(p) { return !!p.participant_id && p.participant_id === me; }
  function who(p) { return isMine(p) ? "You" : (p.display_name || "System"); }
  function bubbleItem(p, kind) {
    var li = el("li", "item " + kind + (isMine(p) ? " mine" : ""));
    li.dataset.id = p.id;
    var bubble = el("div", "bubble");
    var meta = el("p", "meta");
    meta.appendChild(el("span", "who", who(p)));
    meta.appendChild(timeOf(p));
    bubble.appendChild(meta);
    li.appendChild(bubble);
    return li;
  }
  function eventItem(p, text, cls) {
    var li = el("li", "item event-item");
    li.dataset.id = p.id;
    var line = el("p", "event" + (cls ? " " + cls : ""), text);
    line.appendChild(timeOf(p));
    li.appendChild(line);
    return li;
  }
  function eventText(p) {
    var name = who(p);
    var text = EVENT_TEXT[p.event] || p.event || p.type || "event";
    return text.replace("{name}", function () { return name; });
  }
  function place(id, li) {
    var old = id ? byId.get(id) : null;
    if (old) { old.replaceWith(li); } else {
      var empty = list.querySelector("li.empty");
      if (empty) empty.remove();
      list.appendChild(li);
    }
    if (id) byId.set(id, li);
    if (li.classList.contains("mine")) scrollToEnd();  // what I send always shows
  }
  function attachmentNode(a) {
    var entry = el("div", "attachment-entry");
    entry.dataset.attachmentId = a.id;
    if (a.status === "APPROVED") {
      var link = el("a", "attachment", a.name);
      link.href = urlFor(root.dataset.attachmentUrl, a.id);
      entry.appendChild(link);
    } else {
      entry.appendChild(el("span", "attachment", a.name));
    }
    var size = el("span", "attachment-size");
    entry.appendChild(size);
    var status = el("span", "attachment-status",
      a.status === "REJECTED" ? "Rejected" : a.status === "IN_PROGRESS" ? "Scanning\u2026" : a.status === "UPLOADING" ? "Uploading\u2026" : "");
    entry.appendChild(status);
    if (sizes.has(a.id)) size.textContent = formatSize(sizes.get(a.id));
    else if (a.size !== undefined && a.size !== null) size.textContent = formatSize(a.size);
    else size.hidden = true;
    if (a.status === "IN_PROGRESS") pollAttachment(a, entry, 0);
    else if (a.status === "APPROVED" && size.hidden && a.id && !sizeAsked.has(a.id)) fetchStatus(a, entry, 0);  // once, for its size
    return entry;
  }
  var sizeAsked = new Set();
  function pollAttachment(a, entry, tries) {          // every second while it is scanned, 2 minutes at most
    if (tries < 120) setTimeout(function () { fetchStatus(a, entry, tries); }, 1000);
  }
  function fetchStatus(a, entry, tries) {
    fetch(urlFor(root.dataset.attachmentStatusUrl, a.id), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s || !s.status) { pollAttachment(a, entry, tries + 1); return; }
        sizeAsked.add(a.id);
        if (s.size !== null && s.size !== undefined) sizes.set(a.id, s.size);
        if (s.status === "IN_PROGRESS") { pollAttachment(a, entry, tries + 1); return; }
        entry.replaceWith(attachmentNode({ id: a.id, name: a.name, status: s.status }));
      })
      .catch(function () { pollAttachment(a, entry, tries + 1); });
  }

  function render(p) {
    if (p.kind === "typing") { if (p.participant_id !== me) typingStarted(p); return; }
    if (p.kind === "receipt") { receipt(p); return; }
    if (p.kind === "event" && HIDDEN_EVENTS.indexOf(p.event) >= 0) return;
    var known = p.id && byId.has(p.id);
    // Already shown; only a streamed reply still growing (class "partial") takes a newer piece.
    if (known && (p.kind !== "message" || !byId.get(p.id).classList.contains("partial"))) return;
    var li;
    if (p.kind === "message") {
      typingStopped(p.participant_id || "?");
      li = bubbleItem(p, "message" + (p.complete === false ? " partial" : ""));
      li.querySelector(".bubble").appendChild(el("div", "content", p.content || ""));
      var old = known ? byId.get(p.id).querySelector(".receipt") : null;
      if (old) li.appendChild(old);
      if (!isMine(p) && p.complete !== false) announce(who(p) + ": " + (p.content || ""));
    } else if (p.kind === "attachment") {
      typingStopped(p.participant_id || "?");
      li = bubbleItem(p, "attachment-item");
      p.attachments.forEach(function (a) {
        li.querySelector(".bubble").appendChild(attachmentNode(a));
        var pending = list.querySelector("li.pending[data-attachment-id='" + CSS.escape(a.id) + "']");
        if (pending) pending.remove();
      });
      if (!isMine(p)) announce(who(p) + " sent " + p.attachments.map(function (a) { return a.name; }).join(", "));
    } else if (p.kind === "ended") {
      li = eventItem(p, eventText({ event: "chat.ended" }), "chat-ended");
      announce(eventText({ event: "chat.ended" }));
      chatEnded();
    } else {
      li = eventItem(p, eventText(p));
      if (p.event === "participant.left") typingStopped(p.participant_id || "?");
    }
    place(p.id, li);
  }
  function receipt(p) {
    var li = byId.get(p.message_id);
    if (!li || !li.classList.contains("mine")) return;               // receipts go under my own messages
    var others = (p.receipts || []).filter(function (r) { return r.participant_id !== me; });
    var read = others.some(function (r) { return r.read; });
    var delivered = others.some(function (r) { return r.delivered; });
    if (!read && !delivered) return;
    var mark = li.querySelector(".receipt");
    if (!mark) { mark = el("p", "receipt"); li.appendChild(mark); }
    if (read || mark.textContent !== "Read") mark.textContent = read ? "Read" : "Delivered";
  }

  // -- the event stream ------------------------------------------------------------------------
  var source = null;
  function chatEnded(leftByMe) {
    if (source) source.close();
    clearTimeout(retryTimer);
    alertBox.hidden = true;
    setStatus("ended");
    typingNames.clear(); showTyping();
    var hadFocus = root.querySelector(".composer").contains(document.activeElement);
    ["message-form", "upload-form"].forEach(function (id) {
      var form = document.getElementById(id);
      if (form) { form.querySelectorAll("textarea, input, button").forEach(function (c) { c.disabled = true; }); form.hidden = true; }
    });
    ["end-link", "refresh"].forEach(function (id) { var a = document.getElementById(id); if (a) a.hidden = true; });
    if (leftByMe) endedBanner.querySelector(".ended-notice").textContent = "You left the chat.";
    endedBanner.hidden = false;
    if (hadFocus || leftByMe) endedBanner.querySelector("button").focus();
  }
  var since = root.dataset.lastId;   // the last item shown that the transcript keeps
  function connect() {
    var url = root.dataset.eventsUrl;
    if (since) url += "?since=" + encodeURIComponent(since);
    if (statusLine.dataset.state !== "unavailable") setStatus(statusLine.hidden ? "connecting" : "reconnecting");
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
        setStatus("moved");
        return;
      }
      chatEnded();
    });
    source.addEventListener("reset", function () {
      // The server did not know where this page left off: the whole chat follows, so start over.
      list.replaceChildren();
      byId.clear();
    });
    source.addEventListener("failed", function () { unavailable(); });
    source.onerror = function () {
      // CLOSED: the server answered with an error status (EventSource gives up); we try again.
      if (source.readyState === EventSource.CLOSED) unavailable();
      else if (statusLine.dataset.state !== "unavailable") setStatus("reconnecting");
    };
  }
  // For tests and debugging: drop the event stream and open a new one, resuming where it was.
  window.chatEvents = { reconnect: function () { if (source) source.close(); connect(); }, render: render };
  connect();

  // -- forms through fetch -----------------------------------------------------------------------
  // identity(form): what the form would send; a change since the last try takes a new token.
  function enhance(form, identity, check, onDone) {
    if (!form) return;
    var busy = false;
    var triedWith = null;   // identity of the last try that did not succeed (its token may have been used)
    var error = form.querySelector(".form-error");
    var token = form.querySelector("input[name$='client_token']");
    var field = form.querySelector("textarea, input[type=file]");
    function showError(text) {
      error.textContent = text; error.hidden = false;
      field.setAttribute("aria-invalid", "true");
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;                                   // a double click sends once
      var now = identity(form);
      var problem = check ? check(form) : null;
      if (problem) { showError(problem); return; }
      if (triedWith !== null && triedWith !== now) token.value = newToken();   // new text: a new message
      triedWith = now;
      busy = true;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      error.hidden = true;
      field.removeAttribute("aria-invalid");
      var pending = onDone.pending ? onDone.pending(form) : null;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value }
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
      }).then(function (res) {
        if (res.ok) {
          triedWith = null;
          if (res.body.client_token) token.value = res.body.client_token;   // a fresh token, a new message
          onDone(form, res.body, pending);
          return;
        }
        if (pending) pending.remove();
        if (res.body.ended) { chatEnded(); return; }
        if (res.body.unavailable) unavailable();
        var errors = res.body.errors ? Object.values(res.body.errors).flat() : [res.body.error || "Could not send; try again."];
        showError(errors.join(" "));   // the token stays while the text does: a retry sends once
      }).catch(function () {
        if (pending) pending.remove();
        showError("Could not reach the server; try again.");
      }).finally(function () { busy = false; button.disabled = false; });
    });
  }
  var textarea = document.querySelector("#message-form textarea");
  var messageForm = document.getElementById("message-form");
  enhance(messageForm, function (form) { return textarea.value; }, null, function () {
    textarea.value = "";
    fitText();
    textarea.focus();
  });
  var fileInput = document.querySelector("#upload-form input[type=file]");
  var fileName = document.getElementById("file-name");
  function chosenFile() { return fileInput && fileInput.files.length ? fileInput.files[0] : null; }
  // A button-like "Attach a file" and the chosen file's name and size, instead of the
  // browser's own file picker text (which does not fit a phone).
  if (fileInput) {
    fileInput.labels[0].classList.add("button");
    document.getElementById("upload-form").classList.add("enhanced");
    fileInput.addEventListener("change", function () {
      var f = chosenFile();
      fileName.textContent = f ? f.name + " (" + formatSize(f.size) + ")" : "";
    });
  }
  function uploadDone(form, body, pending) {
    fileInput.value = "";
    fileName.textContent = "";
    textarea.focus();
    if (body.id) {
      sizes.set(body.id, body.size);
      if (pending && !list.querySelector("li:not(.pending) [data-attachment-id='" + CSS.escape(body.id) + "']")) {
        pending.dataset.attachmentId = body.id;          // the item itself comes through the event stream
      } else if (pending) { pending.remove(); }
    }
  }
  uploadDone.pending = function () {                    // "Uploading…" under my messages until it is in
    var f = chosenFile();
    var li = bubbleItem({ id: "", participant_id: me, time: new Date().toISOString() }, "attachment-item pending");
    delete li.dataset.id;
    li.querySelector(".bubble").appendChild(attachmentNode({ id: "", name: f.name, size: f.size, status: "UPLOADING" }));
    place(null, li);
    return li;
  };
  enhance(document.getElementById("upload-form"), function () {
    var f = chosenFile();
    return f ? [f.name, f.size, f.lastModified].join("/") : "";
  }, function () {
    var f = chosenFile();
    if (!f) return "Choose a file to send.";
    if (f.size > Number(root.dataset.maxAttachmentBytes)) return root.dataset.attachmentTooLarge;
    return null;
  }, uploadDone);

  // -- my typing: at most one notice every 5 s while I type; the box grows with the text ---------
  var lastTyping = 0;
  function fitText() {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight + 2, 160) + "px";
  }
  if (textarea) {
    textarea.addEventListener("input", function () {
      fitText();
      var now = Date.now();
      if (now - lastTyping < 5000 || !textarea.value) return;
      lastTyping = now;
      fetch(root.dataset.typingUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": messageForm.elements.csrfmiddlewaretoken.value }
      }).catch(function () {});
    });
    textarea.addEventListener("keydown", function (e) {   // Enter sends, Shift+Enter is a new line
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); messageForm.requestSubmit(); }
    });
  }

  // -- ending: asked in a dialog; the conversation stays on the page ----------------------------
  var endLink = document.getElementById("end-link");
  var dialog = document.getElementById("end-dialog");
  if (endLink && dialog && dialog.showModal) {
    var endForm = document.getElementById("end-form");
    endLink.addEventListener("click", function (e) { e.preventDefault(); dialog.showModal(); });
    document.getElementById("end-cancel").addEventListener("click", function () { dialog.close(); });
    endForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = endForm.querySelector("button[type=submit]");
      button.disabled = true;
      fetch(endForm.action, {
        method: "POST", body: new FormData(endForm), credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": endForm.elements.csrfmiddlewaretoken.value }
      }).then(function (r) {
        if (!r.ok && r.status !== 410) throw new Error(String(r.status));
        dialog.close();
        chatEnded(true);
      }).catch(function () {
        endForm.submit();                                  // the plain post still ends it
      }).finally(function () { button.disabled = false; });
    });
  }
  document.getElementById("refresh").hidden = true;
})();
