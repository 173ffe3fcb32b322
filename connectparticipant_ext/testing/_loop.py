"""The local backend's one asyncio event loop, run by one daemon thread for the whole process.

The websocket hub and the local server's listeners live on it, so a thousand open sockets or
idle HTTP connections cost no thread at all: a socket is a few coroutines on this loop. Code on
other threads hands work to the loop with :func:`call_soon` (never blocks) or :func:`run`
(waits for the result), and never touches a transport directly.

A child made by ``fork()`` has no copy of the loop's thread: it starts a loop of its own on
first use (:func:`_forget_after_fork`), instead of handing work to a loop nobody runs and
waiting :data:`RUN_TIMEOUT` for each answer.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Coroutine
from typing import Any, Callable, Optional, TypeVar

__all__ = ["backend_loop", "call_soon", "on_loop", "run"]

T = TypeVar("T")

RUN_TIMEOUT = 30.0
"""The longest :func:`run` waits for the loop, in seconds (it only ever runs short steps)."""

_loop: Optional[asyncio.AbstractEventLoop] = None
_thread: Optional[threading.Thread] = None
_lock = threading.Lock()
_orphans: list[asyncio.AbstractEventLoop] = []  # loops of a parent process, kept from the collector


def backend_loop() -> asyncio.AbstractEventLoop:
    """The running loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            started = threading.Event()
            thread = threading.Thread(target=_run_forever, args=(loop, started), name="chat-backend-loop", daemon=True)
            thread.start()
            started.wait()
            _loop, _thread = loop, thread
        return _loop


def _run_forever(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    loop.run_forever()


def on_loop() -> bool:
    """Whether the caller runs on the backend's loop (where :func:`run` would deadlock)."""
    try:
        return asyncio.get_running_loop() is _loop
    except RuntimeError:
        return False


def call_soon(callback: Callable[..., Any], *args: Any) -> None:
    """Run ``callback(*args)`` on the loop, soon; safe from any thread, never blocks."""
    backend_loop().call_soon_threadsafe(callback, *args)


def run(coroutine: Coroutine[Any, Any, T], timeout: float = RUN_TIMEOUT) -> T:
    """Run a coroutine on the loop and wait for its result (from another thread only)."""
    if on_loop():
        coroutine.close()
        raise RuntimeError("run() was called on the backend's loop itself; it would wait for itself")
    return asyncio.run_coroutine_threadsafe(coroutine, backend_loop()).result(timeout)


def _forget_after_fork() -> None:
    """In a forked child: the loop's thread stayed in the parent, so the next use starts a new one.

    The parent's loop is kept, never closed: it still counts as running (its thread's id is
    set), so ``close()`` would refuse, and collecting it would warn that it was left open.
    """
    global _loop, _thread, _lock
    if _loop is not None:
        _orphans.append(_loop)
    _loop, _thread, _lock = None, None, threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _stop() -> None:
    """Stop the loop at interpreter exit, so nothing runs on it while modules are torn down."""
    with _lock:
        loop, thread = _loop, _thread
    if loop is not None and thread is not None and loop.is_running():
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2)
