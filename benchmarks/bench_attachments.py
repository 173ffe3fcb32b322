"""Attachment upload and download: the library vs raw ``requests`` on the presigned URLs.

Runs against the chat backend's local HTTP server in a child process on 127.0.0.1 (moto S3
behind it), so this process's tracemalloc peak is the client's alone. Both sides do the
same calls: Start, PUT, Complete for an upload; GetAttachment, streamed GET to a file for a
download. Memory target: a peak of at most 2 MB whatever the file size (streamed in 256 KiB
chunks, never read whole); time target: within 10% of raw ``requests``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from ._common import MB, REGION, Result, interleaved, local_server, log, peak_memory, server_chat

TIME_TARGET = 1.10
MEMORY_TARGET_MB = 2.0  # a constant bound, whatever the file size: streamed, never read whole
CHUNK = 256 * 1024


def _make_file(directory: Path, size_mb: int) -> Path:
    path = directory / f"payload-{size_mb}mb.pdf"
    block = os.urandom(MB)
    with open(path, "wb") as f:
        for _ in range(size_mb):
            f.write(block)
    return path


class _Raw:
    """What a boto3 + requests user writes by hand for the same flow."""

    def __init__(self, client: Any, token: str) -> None:
        import requests

        self.client = client
        self.token = token
        self.http = requests.Session()

    def upload(self, path: Path) -> str:
        size = path.stat().st_size
        start = self.client.start_attachment_upload(
            ConnectionToken=self.token,
            ContentType="application/pdf",
            AttachmentSizeInBytes=size,
            AttachmentName=path.name,
            ClientToken=str(uuid.uuid4()),
        )
        metadata = start["UploadMetadata"]
        with open(path, "rb") as f:
            answer = self.http.put(metadata["Url"], data=f, headers=metadata["HeadersToInclude"], timeout=60)
        answer.raise_for_status()
        self.client.complete_attachment_upload(
            ConnectionToken=self.token, AttachmentIds=[start["AttachmentId"]], ClientToken=str(uuid.uuid4())
        )
        return str(start["AttachmentId"])

    def download(self, attachment_id: str, directory: Path) -> Path:
        url = self.client.get_attachment(
            ConnectionToken=self.token,
            AttachmentId=attachment_id,
            UrlExpiryInSeconds=60,
            UrlContentDisposition="ATTACHMENT",
        )["Url"]
        target = directory / f"raw-{attachment_id}.pdf"
        with self.http.get(url, stream=True, timeout=60) as answer, open(target, "wb") as f:
            answer.raise_for_status()
            for chunk in answer.iter_content(CHUNK):
                f.write(chunk)
        return target


def _measure(conn: Any, raw: _Raw, path: Path, size_mb: int, downloads: Path, rounds: int) -> list[Result]:
    """Time and peak memory of one file size, both directions."""
    results: list[Result] = []
    lib_att = conn.upload_attachment(path)
    raw_id = raw.upload(path)

    def lib_upload() -> None:
        conn.upload_attachment(path)

    def raw_upload() -> None:
        raw.upload(path)

    def lib_download() -> None:
        os.unlink(lib_att.download(downloads))

    def raw_download() -> None:
        os.unlink(raw.download(raw_id, downloads))

    log(f"attachments: {size_mb} MB, {rounds} rounds")
    up = interleaved(lib_upload, raw_upload, rounds=rounds)
    down = interleaved(lib_download, raw_download, rounds=rounds)
    for label, timing in (("upload", up), ("download", down)):
        results.append(
            Result(
                f"{label} {size_mb} MB, time",
                timing.median_a,
                timing.median_b,
                timing.median_ratio,
                TIME_TARGET,
                "s",
                f"{size_mb / timing.median_a:.0f} vs {size_mb / timing.median_b:.0f} MB/s (raw requests)",
            )
        )
    peaks = {
        "upload": (peak_memory(lib_upload)[0], peak_memory(raw_upload)[0]),
        "download": (peak_memory(lib_download)[0], peak_memory(raw_download)[0]),
    }
    for label, (peak, raw_peak) in peaks.items():
        results.append(
            Result(
                f"{label} {size_mb} MB, peak memory",
                peak / MB,
                raw_peak / MB,
                None,
                MEMORY_TARGET_MB,
                "MB",
                f"baseline = raw requests; {100 * peak / (size_mb * MB):.1f}% of the {size_mb} MB file",
            )
        )
    return results


def run(quick: bool = False) -> list[Result]:
    """Time and peak memory of uploads and downloads of 1, 5 and 20 MB files."""
    from connectparticipant_ext import ChatService

    sizes = (1, 5, 20)
    rounds = 3 if quick else 7
    results: list[Result] = []
    workdir = Path(tempfile.mkdtemp(prefix="cpext-bench-"))
    try:
        with local_server() as server:
            endpoint = server.url
            chat = ChatService(region_name=REGION, endpoint_url=endpoint)
            conn = chat.Participant(server_chat(endpoint)["participant_token"]).create_connection()
            raw = _Raw(chat.meta.client, conn.token)
            downloads = workdir / "downloads"
            downloads.mkdir()
            for size_mb in sizes:
                path = _make_file(workdir, size_mb)
                results.extend(_measure(conn, raw, path, size_mb, downloads, rounds))
                path.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


if __name__ == "__main__":
    from .run import main

    main(["attachments"])
