#!/usr/bin/env node
// A chat held through the AWS SDK for JavaScript v3 (@aws-sdk/client-connect and
// @aws-sdk/client-connectparticipant) against a local `connectparticipant-ext serve`
// (driven by tests/test_interop_js_sdk.py).
//
// Input, from the environment only:
//   ENDPOINT   http://127.0.0.1:PORT of the local server
//
// It starts a chat with the Connect API, then calls every Participant Service operation as a
// customer (and a few that must fail), moving attachment bytes with fetch() through the
// presigned URLs. It prints one JSON line per step on stdout, {"step", "ok", ...details}, as
// it goes, and exits 0 when every step behaved as the service does; otherwise 1 with the
// reason on stderr. The whole run is bounded by 30 s. No token and no presigned URL is ever
// printed: only ids, error names, statuses and byte counts.
"use strict";

if (!process.env.ENDPOINT) {
    process.stderr.write("sdk.js: missing environment variable: ENDPOINT\n");
    process.exit(2);
}
const { ENDPOINT } = process.env;
const TIMEOUT_MS = 30000;
const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
const MESSAGE = "hello from the JS SDK";
const ATTACHMENT_NAME = "notes.txt";
const ATTACHMENT_BODY = Buffer.from("notes from the JS SDK\nsecond line\n", "utf8");
const TYPING = "application/vnd.amazonaws.connect.event.typing";
const MESSAGE_READ = "application/vnd.amazonaws.connect.event.message.read";

const { ConnectClient, StartChatContactCommand } = require("@aws-sdk/client-connect");
const {
    ConnectParticipantClient,
    CancelParticipantAuthenticationCommand,
    CompleteAttachmentUploadCommand,
    CreateParticipantConnectionCommand,
    DescribeViewCommand,
    DisconnectParticipantCommand,
    GetAttachmentCommand,
    GetAuthenticationUrlCommand,
    GetTranscriptCommand,
    SendEventCommand,
    SendMessageCommand,
    StartAttachmentUploadCommand,
} = require("@aws-sdk/client-connectparticipant");

// Everything secret this run learns goes here; all output passes through redact().
const secrets = new Set();
function keepSecret(value) {
    if (typeof value === "string" && value) secrets.add(value);
}
function redact(text) {
    let out = String(text);
    for (const secret of secrets) out = out.split(secret).join("<redacted>");
    return out
        .replace(/(AuthToken=)[^\s"'&]+/g, "$1<redacted>")
        .replace(/(https?:\/\/[^\s"'?]+)\?[^\s"']*/g, "$1?<redacted>");
}

let finished = false;
let failures = 0;

function emit(record) {
    process.stdout.write(redact(JSON.stringify(record)) + "\n");
}

function finish(code, reason) {
    if (finished) return;
    finished = true;
    if (reason) process.stderr.write(redact(`sdk.js: ${reason}`) + "\n");
    process.stdout.write("", () => process.exit(code));
}

function describe(err) {
    if (!err) return "unknown error";
    if (err instanceof Error) return `${err.name}: ${err.message}\n${err.stack || ""}`;
    try {
        return JSON.stringify(err);
    } catch (_e) {
        return String(err);
    }
}

const timer = setTimeout(() => finish(1, `timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);
process.on("unhandledRejection", (err) => finish(1, `unhandled rejection: ${describe(err)}`));
process.on("uncaughtException", (err) => finish(1, `uncaught exception: ${describe(err)}`));

class StepFailed extends Error {}

// Run one step: `body` returns the details to print, or throws. A step that fails stops the run.
async function step(name, body) {
    let details;
    try {
        details = (await body()) || {};
    } catch (err) {
        failures += 1;
        const record = { step: name, ok: false, error: errorName(err), reason: String((err && err.message) || err) };
        if (err && err.$metadata) record.httpStatus = err.$metadata.httpStatusCode;
        if (err && typeof err.code === "string") record.code = err.code;
        emit(record);
        throw new StepFailed(`step ${name} failed: ${describe(err)}`);
    }
    emit({ step: name, ok: true, ...details });
    return details;
}

// A step whose call must fail with the service error `expected`.
async function expectError(name, call, expected) {
    return step(name, async () => {
        let result;
        try {
            result = await call();
        } catch (err) {
            const got = errorName(err);
            if (got !== expected) {
                const wrong = new Error(`expected ${expected}, got ${got}: ${err && err.message}`);
                wrong.name = got;
                throw wrong;
            }
            return { error: got, httpStatus: err.$metadata && err.$metadata.httpStatusCode };
        }
        throw new Error(`expected ${expected}, but the call succeeded (${Object.keys(result || {}).join(", ")})`);
    });
}

function errorName(err) {
    return (err && (err.name || (err.constructor && err.constructor.name))) || "Error";
}

function check(condition, message) {
    if (!condition) throw new Error(message);
}

async function main() {
    const config = { region: REGION, endpoint: ENDPOINT, credentials: CREDENTIALS };
    const connect = new ConnectClient(config);
    const participant = new ConnectParticipantClient(config);

    let participantToken;
    await step("start-chat-contact", async () => {
        const out = await connect.send(
            new StartChatContactCommand({
                InstanceId: "instance-1",
                ContactFlowId: "flow-1",
                ParticipantDetails: { DisplayName: "JsSdk" },
            }),
        );
        keepSecret(out.ParticipantToken);
        check(out.ContactId && out.ParticipantId && out.ParticipantToken, "missing ContactId/ParticipantId/Token");
        participantToken = out.ParticipantToken; // stays in this process
        return { contactId: out.ContactId, participantId: out.ParticipantId };
    });

    let connectionToken;
    await step("create-participant-connection", async () => {
        const out = await participant.send(
            new CreateParticipantConnectionCommand({
                ParticipantToken: participantToken,
                Type: ["CONNECTION_CREDENTIALS", "WEBSOCKET"],
                ConnectParticipant: true,
            }),
        );
        const credentials = out.ConnectionCredentials || {};
        const websocket = out.Websocket || {};
        keepSecret(credentials.ConnectionToken);
        keepSecret(websocket.Url);
        check(credentials.ConnectionToken, "no ConnectionCredentials.ConnectionToken");
        check(websocket.Url, "no Websocket.Url");
        connectionToken = credentials.ConnectionToken;
        return {
            connectionExpiry: credentials.Expiry,
            websocketExpiry: websocket.ConnectionExpiry,
            websocketScheme: String(websocket.Url).split(":", 1)[0],
        };
    });

    const clientToken = `js-sdk-${Date.now()}-${Math.random().toString(16).slice(2)}`;
    const sendMessage = () =>
        participant.send(
            new SendMessageCommand({
                ConnectionToken: connectionToken,
                ContentType: "text/plain",
                Content: MESSAGE,
                ClientToken: clientToken,
            }),
        );
    const first = await step("send-message", async () => {
        const out = await sendMessage();
        check(out.Id, "SendMessage returned no Id");
        return { id: out.Id, absoluteTime: out.AbsoluteTime, content: MESSAGE };
    });
    await step("send-message-idempotent", async () => {
        const out = await sendMessage();
        check(out.Id === first.id, `the same ClientToken gave a new Id (${out.Id} != ${first.id})`);
        return { id: out.Id, firstId: first.id, sameId: true };
    });

    await step("send-event-typing", async () => {
        const out = await participant.send(
            new SendEventCommand({ ConnectionToken: connectionToken, ContentType: TYPING }),
        );
        return { id: out.Id, absoluteTime: out.AbsoluteTime };
    });
    await step("send-event-read", async () => {
        const out = await participant.send(
            new SendEventCommand({
                ConnectionToken: connectionToken,
                ContentType: MESSAGE_READ,
                Content: JSON.stringify({ messageId: first.id }),
            }),
        );
        return { id: out.Id, messageId: first.id };
    });

    await step("get-transcript", async () => {
        const base = {
            ConnectionToken: connectionToken,
            ScanDirection: "FORWARD",
            SortOrder: "ASCENDING",
            StartPosition: { AbsoluteTime: "1970-01-01T00:00:00.000Z" },
            MaxResults: 1, // two items so far (joined, the message; typing is not kept)
        };
        const items = [];
        const pageSizes = [];
        let nextToken;
        let initialContactId;
        do {
            check(pageSizes.length < 50, "GetTranscript kept returning a NextToken");
            const out = await participant.send(
                new GetTranscriptCommand(nextToken ? { ...base, NextToken: nextToken } : base),
            );
            keepSecret(out.NextToken);
            const page = out.Transcript || [];
            check(page.length <= 1, `a page of ${page.length} items with MaxResults 1`);
            pageSizes.push(page.length);
            items.push(...page);
            initialContactId = out.InitialContactId;
            nextToken = out.NextToken;
        } while (nextToken);
        const times = items.map((item) => item.AbsoluteTime);
        check(
            times.every((t, i) => i === 0 || times[i - 1] <= t),
            "items are not in ascending time order",
        );
        const ids = items.map((item) => item.Id);
        check(new Set(ids).size === ids.length, "an item appeared on more than one page");
        const messageCount = items.filter((item) => item.Id === first.id).length;
        check(messageCount === 1, `the message appears ${messageCount} times`);
        const message = items.find((item) => item.Id === first.id);
        check(message.Content === MESSAGE && message.Type === "MESSAGE", "the message came back changed");
        check(message.ParticipantRole === "CUSTOMER", `the message's role is ${message.ParticipantRole}`);
        return {
            pages: pageSizes.length,
            pageSizes,
            itemCount: items.length,
            messageCount,
            initialContactId,
            items: items.map((item) => ({ id: item.Id, type: item.Type, contentType: item.ContentType })),
        };
    });

    await expectError(
        "get-transcript-forward-without-start",
        () =>
            participant.send(
                new GetTranscriptCommand({
                    ConnectionToken: connectionToken,
                    ScanDirection: "FORWARD",
                    SortOrder: "ASCENDING",
                }),
            ),
        "ValidationException",
    );

    let uploadUrl;
    let uploadHeaders;
    const upload = await step("start-attachment-upload", async () => {
        const out = await participant.send(
            new StartAttachmentUploadCommand({
                ConnectionToken: connectionToken,
                ContentType: "text/plain",
                AttachmentSizeInBytes: ATTACHMENT_BODY.length,
                AttachmentName: ATTACHMENT_NAME,
                ClientToken: `${clientToken}-upload`,
            }),
        );
        const metadata = out.UploadMetadata || {};
        keepSecret(metadata.Url);
        check(out.AttachmentId, "no AttachmentId");
        check(metadata.Url, "no UploadMetadata.Url");
        uploadUrl = metadata.Url;
        uploadHeaders = metadata.HeadersToInclude || {};
        return {
            attachmentId: out.AttachmentId,
            attachmentName: ATTACHMENT_NAME,
            urlExpiry: metadata.UrlExpiry,
            headerNames: Object.keys(uploadHeaders).sort(),
        };
    });

    await step("upload-attachment-bytes", async () => {
        const response = await fetch(uploadUrl, { method: "PUT", headers: uploadHeaders, body: ATTACHMENT_BODY });
        const text = await response.text();
        check(response.ok, `PUT answered ${response.status}: ${text.slice(0, 500)}`);
        return { httpStatus: response.status, bytes: ATTACHMENT_BODY.length };
    });

    await step("complete-attachment-upload", async () => {
        await participant.send(
            new CompleteAttachmentUploadCommand({
                ConnectionToken: connectionToken,
                AttachmentIds: [upload.attachmentId],
                ClientToken: `${clientToken}-complete`,
            }),
        );
        return { attachmentId: upload.attachmentId };
    });

    await step("get-attachment", async () => {
        const out = await participant.send(
            new GetAttachmentCommand({
                ConnectionToken: connectionToken,
                AttachmentId: upload.attachmentId,
                UrlExpiryInSeconds: 60,
            }),
        );
        keepSecret(out.Url);
        check(out.Url, "no Url");
        const response = await fetch(out.Url);
        const body = Buffer.from(await response.arrayBuffer());
        check(response.ok, `GET answered ${response.status}: ${body.toString("utf8").slice(0, 500)}`);
        const same = body.equals(ATTACHMENT_BODY);
        check(same, `downloaded ${body.length} bytes that differ from the ${ATTACHMENT_BODY.length} uploaded`);
        return {
            attachmentId: upload.attachmentId,
            attachmentSizeInBytes: out.AttachmentSizeInBytes,
            urlExpiry: out.UrlExpiry,
            httpStatus: response.status,
            uploadedBytes: ATTACHMENT_BODY.length,
            downloadedBytes: body.length,
            bytesMatch: same,
        };
    });

    await expectError(
        "describe-view-unknown",
        () =>
            participant.send(
                new DescribeViewCommand({ ConnectionToken: connectionToken, ViewToken: "no-such-view-token" }),
            ),
        "ResourceNotFoundException",
    );

    const sessionId = require("node:crypto").randomUUID();
    await step("get-authentication-url", async () => {
        const out = await participant.send(
            new GetAuthenticationUrlCommand({
                ConnectionToken: connectionToken,
                SessionId: sessionId,
                RedirectUri: "https://example.com",
            }),
        );
        keepSecret(out.AuthenticationUrl);
        check(out.AuthenticationUrl, "no AuthenticationUrl");
        return { sessionId, hasAuthenticationUrl: true };
    });
    await step("cancel-participant-authentication", async () => {
        await participant.send(
            new CancelParticipantAuthenticationCommand({ ConnectionToken: connectionToken, SessionId: sessionId }),
        );
        return { sessionId };
    });

    await step("disconnect-participant", async () => {
        await participant.send(new DisconnectParticipantCommand({ ConnectionToken: connectionToken }));
        return {};
    });

    await expectError(
        "send-message-after-disconnect",
        () =>
            participant.send(
                new SendMessageCommand({
                    ConnectionToken: connectionToken,
                    ContentType: "text/plain",
                    Content: "after disconnect",
                }),
            ),
        "AccessDeniedException",
    );

    connect.destroy();
    participant.destroy();
}

main().then(
    () => {
        clearTimeout(timer);
        if (failures) finish(1, `${failures} step(s) failed`);
        else finish(0);
    },
    (err) => {
        clearTimeout(timer);
        finish(1, err instanceof StepFailed ? err.message : `failed: ${describe(err)}`);
    },
);
