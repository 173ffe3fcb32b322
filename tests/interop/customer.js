#!/usr/bin/env node
// A customer chat session held by AWS's own JavaScript chat client, amazon-connect-chatjs,
// against a local `connectparticipant-ext serve` (driven by tests/test_interop_chatjs.py).
//
// Input, from the environment only (never argv, so the token stays out of `ps`):
//   ENDPOINT           http://127.0.0.1:PORT of the local server
//   CONTACT_ID, PARTICIPANT_ID, PARTICIPANT_TOKEN   from StartChatContact
//   CUSTOMER_MESSAGE   optional, the text to send (default "hello from chatjs")
//   TIMEOUT_MS         optional, the bound on the whole session (default 30000)
//
// It connects, waits for its aws/chat subscription to be confirmed, fetches the transcript (as
// chatjs's README recommends on connection established), sends one message, waits for a
// message from another participant and for the chat's end, then prints one JSON line per
// observed event on stdout and exits 0. On any
// error, or when the bound passes first, it prints the events so far and exits 1 with the
// reason on stderr. The participant token is never printed.
"use strict";

const REQUIRED = ["ENDPOINT", "CONTACT_ID", "PARTICIPANT_ID", "PARTICIPANT_TOKEN"];
const missing = REQUIRED.filter((name) => !process.env[name]);
if (missing.length) {
    process.stderr.write(`customer.js: missing environment variables: ${missing.join(", ")}\n`);
    process.exit(2);
}
const { ENDPOINT, CONTACT_ID, PARTICIPANT_ID, PARTICIPANT_TOKEN } = process.env;
const MESSAGE = process.env.CUSTOMER_MESSAGE || "hello from chatjs";
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 30000);

// Keep secrets out of everything this process writes: the participant token, and the
// connection token and websocket URL query that chatjs may log.
const secrets = new Set([PARTICIPANT_TOKEN]);
function redact(text) {
    let out = String(text);
    for (const secret of secrets) {
        if (secret) out = out.split(secret).join("<redacted>");
    }
    return out.replace(/(AuthToken=)[^\s"'&]+/g, "$1<redacted>");
}

// The browser globals chatjs touches, minimally. chatjs installs itself on `self`/`window`
// as `connect`, logs `window.navigator.userAgent`, and its websocket manager uses the global
// WebSocket and `navigator.onLine`.
global.window = global;
global.self = global;
Object.defineProperty(global, "navigator", {
    value: { onLine: true, userAgent: "node" },
    configurable: true,
    writable: true,
});
// chatjs's websocket is `ws`, watched for one thing: the server's confirmation of the
// aws/chat subscription. chatjs reports the connection as established when the socket opens,
// before it has even sent its subscription, and the service pushes only what is written after
// the subscription: what came before is in the transcript, which a chatjs app fetches when the
// connection is established (chatjs README, onConnectionEstablished). This script does the
// same, after the confirmation, then sends: like a user who types once the chat shows connected.
const NodeWebSocket = require("ws");
let markSubscribed;
const subscribed = new Promise((resolve) => {
    markSubscribed = resolve;
});
class ObservedWebSocket extends NodeWebSocket {
    constructor(...args) {
        super(...args);
        this.on("message", (data) => {
            try {
                const frame = JSON.parse(String(data));
                const content = frame && frame.content;
                if (frame.topic === "aws/subscribe" && content && content.status === "success") {
                    markSubscribed(content.topics);
                }
            } catch (_e) {
                // not JSON: chatjs deals with it
            }
        });
    }
}
global.WebSocket = ObservedWebSocket;

// chatjs logs through console; send everything to stderr (redacted) so stdout is ours alone.
for (const level of ["log", "debug", "info", "warn", "error", "trace"]) {
    console[level] = (...args) => {
        const text = args
            .map((a) => {
                if (typeof a === "string") return a;
                if (a instanceof Error) return a.stack || String(a);
                try {
                    return JSON.stringify(a);
                } catch (_e) {
                    return String(a);
                }
            })
            .join(" ");
        process.stderr.write(redact(`[chatjs ${level}] ${text}`) + "\n");
    };
}

require("amazon-connect-chatjs");
const connect = global.connect;

const events = [];
let finished = false;

function record(event) {
    events.push(event);
}

// Chat items seen so far, by Id: an item both pushed live and read from the transcript is
// recorded once, as a chatjs app shows it once.
const seenItems = new Set();

function recordItem(data, source) {
    if (data.Id) {
        if (seenItems.has(data.Id)) return;
        seenItems.add(data.Id);
    }
    record({
        event: "message",
        source,
        id: data.Id,
        type: data.Type,
        contentType: data.ContentType,
        content: data.Content,
        role: data.ParticipantRole,
        participantId: data.ParticipantId,
        displayName: data.DisplayName,
    });
}

function finish(code, reason) {
    if (finished) return;
    finished = true;
    for (const event of events) {
        process.stdout.write(redact(JSON.stringify(event)) + "\n");
    }
    if (reason) process.stderr.write(redact(`customer.js: ${reason}`) + "\n");
    // Let stdout drain, then leave even if chatjs still holds timers.
    process.stdout.write("", () => process.exit(code));
}

function describe(err) {
    if (!err) return "unknown error";
    if (err instanceof Error) return err.stack || err.message;
    try {
        return JSON.stringify(err);
    } catch (_e) {
        return String(err);
    }
}

const timer = setTimeout(() => {
    finish(1, `timed out after ${TIMEOUT_MS} ms (botReply=${gotBotReply}, ended=${ended})`);
}, TIMEOUT_MS);

process.on("unhandledRejection", (err) => finish(1, `unhandled rejection: ${describe(err)}`));
process.on("uncaughtException", (err) => finish(1, `uncaught exception: ${describe(err)}`));

let gotBotReply = false;
let ended = false;

function maybeDone() {
    if (gotBotReply && ended) {
        clearTimeout(timer);
        finish(0);
    }
}

async function main() {
    connect.ChatSession.setGlobalConfig({
        region: "us-east-1",
        endpoint: ENDPOINT,
        // chatjs's own logs stay quiet unless CHATJS_DEBUG is set.
        loggerConfig: process.env.CHATJS_DEBUG ? { useDefaultLogger: true, level: connect.LogLevel.DEBUG } : undefined,
    });

    const session = connect.ChatSession.create({
        chatDetails: {
            contactId: CONTACT_ID,
            participantId: PARTICIPANT_ID,
            participantToken: PARTICIPANT_TOKEN,
        },
        type: connect.ChatSession.SessionTypes.CUSTOMER,
        options: { region: "us-east-1" },
        disableCSM: true, // CSM injects a <script> into the page: there is no page here
    });

    session.onConnectionEstablished(() => record({ event: "connection-established" }));
    session.onConnectionBroken(() => record({ event: "connection-broken" }));

    session.onMessage((evt) => {
        const data = (evt && evt.data) || {};
        recordItem(data, "websocket");
        if (data.Type === "MESSAGE" && data.ParticipantRole && data.ParticipantRole !== "CUSTOMER") {
            gotBotReply = true;
            maybeDone();
        }
    });

    session.onTyping((evt) => {
        const data = (evt && evt.data) || {};
        record({
            event: "typing",
            id: data.Id,
            contentType: data.ContentType,
            role: data.ParticipantRole,
            participantId: data.ParticipantId,
        });
    });

    for (const [register, kind] of [
        ["onReadReceipt", "read"],
        ["onDeliveredReceipt", "delivered"],
    ]) {
        session[register]((evt) => {
            const metadata = ((evt && evt.data) || {}).MessageMetadata || {};
            const receipt = (metadata.Receipts || [])[0] || {};
            record({ event: "receipt", kind, messageId: metadata.MessageId, recipient: receipt.RecipientParticipantId });
        });
    }

    session.onEnded((evt) => {
        const data = (evt && evt.data) || null;
        record({ event: "ended", contentType: data && data.ContentType });
        ended = true;
        maybeDone();
    });

    const result = await session.connect();
    if (!result || !result.connectSuccess) {
        throw new Error(`connect() did not succeed: ${describe(result)}`);
    }
    record({ event: "connected" });
    const topics = await subscribed;
    record({ event: "subscribed", topics });
    // What was written before the subscription (the joins) comes from the transcript.
    const transcript = await session.getTranscript({ scanDirection: "BACKWARD", sortOrder: "ASCENDING", maxResults: 15 });
    const items = (transcript && transcript.data && transcript.data.Transcript) || [];
    for (const item of items) recordItem(item, "transcript");
    record({ event: "transcript", count: items.length });
    const sent = await session.sendMessage({ contentType: "text/plain", message: MESSAGE });
    const sentData = (sent && sent.data) || {};
    record({ event: "sent", id: sentData.Id, content: MESSAGE });
}

main().catch((err) => finish(1, `session failed: ${describe(err)}`));
