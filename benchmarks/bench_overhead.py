"""Per-call overhead of the library over the boto3 client it wraps.

Both sides call the same in-process moto backend through the same boto3 client
(``chat.meta.client``), interleaved, so the difference is the library's own Python work:
argument checks, the renewal check, error mapping and parsing the answer into objects.
Both sides read what the caller uses from the answer: the sent message's id and time, and
each transcript item's id, content, time, role and display name (the raw side parsing
``AbsoluteTime`` into a datetime, which the library hands over).
"""

from __future__ import annotations

from ._common import REGION, Result, cpu_clock, interleaved, log, mock_chat, parse_absolute_time

SEND_TARGET = 1.02  # issue 17: the library's own work per send is a few µs against a ~0.4 ms call
PAGE_TARGET = 1.05
EPOCH = "1970-01-01T00:00:00.000Z"  # what the library sends for "from the beginning"


def run(quick: bool = False) -> list[Result]:
    """Time ``send_message`` and a one-page ``GetTranscript``, library vs raw client."""
    from connectparticipant_ext import ChatService

    rounds, inner = (61, 10) if quick else (201, 10)
    results: list[Result] = []
    with mock_chat() as env:
        chat = ChatService(region_name=REGION)
        conn = chat.Participant(env["participant_token"]).create_connection()
        client = chat.meta.client
        token = conn.token

        def lib_send() -> None:
            sent = conn.send_message("x")
            _sent_id, _sent_at = sent.id, sent.absolute_time

        def raw_send() -> None:
            response = client.send_message(ConnectionToken=token, Content="x", ContentType="text/plain")
            _sent_id, _sent_at = response["Id"], parse_absolute_time(response["AbsoluteTime"])

        log(f"overhead: send_message, {rounds} rounds x {inner} calls")
        timing = interleaved(lib_send, raw_send, rounds=rounds, inner=inner, warmup=3, clock=cpu_clock)
        results.append(
            Result(
                "send_message per call, CPU time",
                timing.median_a,
                timing.median_b,
                timing.median_ratio,
                SEND_TARGET,
                "s",
                f"conn.send_message vs client.send_message, in-process, id and time read; "
                f"{timing.median_delta * 1e6:+.1f} µs/call; "
                f"wall-time ratio {timing.median_wall_ratio:.3f}",
            )
        )

        # A transcript of a little more than one page, so each call reads a full page of 100.
        env["backend"].bulk_add_messages(env["contact_id"], 150)
        page = conn.transcript.page_size(100).limit(100)

        def lib_page() -> None:
            for item in page:
                _item_id, _content, _time = item.id, item.content, item.absolute_time
                _role, _name = item.participant_role, item.display_name

        def raw_page() -> None:
            response = client.get_transcript(
                ConnectionToken=token,
                MaxResults=100,
                ScanDirection="FORWARD",
                SortOrder="ASCENDING",
                StartPosition={"AbsoluteTime": EPOCH},
            )
            for entry in response["Transcript"]:
                _item_id, _content = entry["Id"], entry.get("Content")
                _time = parse_absolute_time(entry["AbsoluteTime"])
                _role, _name = entry.get("ParticipantRole"), entry.get("DisplayName")

        log(f"overhead: get_transcript page, {rounds} rounds x {max(inner // 4, 2)} calls")
        timing = interleaved(lib_page, raw_page, rounds=rounds, inner=max(inner // 4, 2), warmup=2, clock=cpu_clock)
        results.append(
            Result(
                "get_transcript 1 page (100 items), fields read, CPU time",
                timing.median_a,
                timing.median_b,
                timing.median_ratio,
                PAGE_TARGET,
                "s",
                f"100 TranscriptItem objects vs raw dicts, 5 fields read per item; {timing.median_delta * 1e6:+.1f} µs/call; "
                f"wall-time ratio {timing.median_wall_ratio:.3f}",
            )
        )
    return results


if __name__ == "__main__":
    from .run import main

    main(["overhead"])
