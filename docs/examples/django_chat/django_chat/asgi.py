"""ASGI entry point for the django_chat example (``uvicorn django_chat.asgi:application``).

Under ASGI the event stream (``/chat/events/``) is served from an asynchronous iterator
(``connectparticipant_ext.sse.async_sse_events``): the event loop is never blocked, and an
open page costs no thread at all while its stream waits for the next item. Django itself would
still hold one: it runs each request in its own asgiref ``ThreadSensitiveContext``, whose
one-thread executor (started by the request's first synchronous step: the synchronous
middleware, the session read, the view) lives until the response is over, for an event stream
as long as the page is open. ``SharedSyncThread`` runs those short steps of the event stream on
one shared thread instead, and every other request's on one of ``REQUEST_THREADS`` threads it
holds while it lasts (as a threaded WSGI server's workers): Django would start a thread for each
request in flight, so that a burst of page loads or sends could start hundreds.

A garbage collection stops the event loop, and so every open page, while it runs, and a full one
walks every object the collector tracks. Two settings here keep those pauses short (measured in
docs/benchmarks.rst, "Live pages"):

* the objects made at start-up (Django's URLs and templates, botocore's service models) live as
  long as the process: the shared clients are built here, before the first request, and
  ``gc.freeze()`` leaves everything made so far out of every later collection;
* the collector's first threshold is 10,000 allocations instead of 700: with 700 young
  collections run several times during each request and move its objects, still alive, toward
  the old generation, which then gets a full collection (200-350 ms with 1,000 pages open)
  every few seconds; with 10,000 a request's objects are mostly gone before a young collection
  runs, and no full collection ran while 1,000 pages sent their messages (p99 delivery 20-64 ms
  instead of 110-314 ms).

Django's ASGI handler reads each request's whole body before any middleware or view runs, so
the request-size rules of ``chat/limits.py`` are applied here first, by ``RequestBodyLimit``.
"""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_chat.settings")

django_application = get_asgi_application()

from chat.limits import RequestBodyLimit  # noqa: E402 - needs the settings get_asgi_application set up
from chat.services import get_chat_service, get_connect_client  # noqa: E402
from django.urls import reverse  # noqa: E402

from connectparticipant_ext.django import SharedSyncThread  # noqa: E402

REQUEST_THREADS = 8
"""Threads for the requests other than the event stream: the start form, the chat page, sends and
uploads. Each takes a few milliseconds of a thread (the calls to Amazon Connect included); an
upload holds one while its file goes to the service, so size this for the uploads at once."""

application = RequestBodyLimit(
    SharedSyncThread(django_application, paths=[reverse("chat:events")], request_threads=REQUEST_THREADS)
)

# The boto3 clients and their service models, made once, now (the first request would).
_clients = (get_chat_service().meta.client, get_connect_client())
gc.collect()  # nothing that is already garbage is frozen
gc.freeze()
gc.set_threshold(10_000, 10, 10)
