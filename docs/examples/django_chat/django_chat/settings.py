"""Settings for the django_chat example.

Everything that differs between a laptop and production comes from the environment:

* ``CONNECT_REGION`` (default ``us-east-1``)
* ``CONNECT_INSTANCE_ID`` and ``CONNECT_CONTACT_FLOW_ID``: the Amazon Connect instance and the
  contact flow that chats start in (any non-empty value works against the local server)
* ``CONNECT_ENDPOINT_URL`` (optional): e.g. ``http://127.0.0.1:2428`` for
  ``connectparticipant-ext serve``; used by both the ``connect`` client and the
  ``ChatService``
* ``CONNECT_ATTACHMENT_MAX_BYTES`` (default 20 MB): an instance can change its attachment limit
* ``CHAT_EVENTS_MAX_SECONDS`` (default 1800): how long one event-stream response lasts
* ``CHAT_EVENTS_RECONNECT_ATTEMPTS`` (default 3): websocket reconnects before an event stream gives up
* ``DJANGO_SESSION_DIR`` (default ``.sessions`` next to ``manage.py``): where sessions are kept
* ``CHAT_EVENT_STREAMS_PER_SESSION`` (default 3) and ``CHAT_EVENT_STREAMS_MAX`` (default 1000):
  the caps on live event streams, per session and for the process
* ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``, ``DJANGO_SECURE_COOKIES``
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# -- Amazon Connect ---------------------------------------------------------------------------

CONNECT_REGION = os.environ.get("CONNECT_REGION", "us-east-1")
CONNECT_ENDPOINT_URL = os.environ.get("CONNECT_ENDPOINT_URL") or None
# Against the local server any ids do; against AWS they must name your instance and flow.
_LOCAL_DEFAULT = "local" if CONNECT_ENDPOINT_URL else ""
CONNECT_INSTANCE_ID = os.environ.get("CONNECT_INSTANCE_ID", _LOCAL_DEFAULT)
CONNECT_CONTACT_FLOW_ID = os.environ.get("CONNECT_CONTACT_FLOW_ID", _LOCAL_DEFAULT)
# An event stream ends after this long and the browser resumes it with Last-Event-ID: a worker
# (thread) is given back now and then, and an idle tab does not hold one forever.
CHAT_EVENTS_MAX_SECONDS = float(os.environ.get("CHAT_EVENTS_MAX_SECONDS", 30 * 60))
# The event stream gives up after this many failed reconnects of its websocket in a row (about
# 4 s with the library's backoff, where its default of 8 takes about a minute); the page then
# says that the chat service cannot be reached and tries again by itself.
CHAT_EVENTS_RECONNECT_ATTEMPTS = int(os.environ.get("CHAT_EVENTS_RECONNECT_ATTEMPTS", 3))
# A few event streams per session (tabs); past it the oldest ends, reason "replaced", and its
# page stops. Past the process's cap the events view answers 503 with Retry-After.
CONNECTPARTICIPANT_EXT_EVENT_STREAMS_PER_SESSION = int(os.environ.get("CHAT_EVENT_STREAMS_PER_SESSION", 3))
CONNECTPARTICIPANT_EXT_EVENT_STREAMS_MAX = int(os.environ.get("CHAT_EVENT_STREAMS_MAX", 1000))
CONNECT_ATTACHMENT_MAX_BYTES = int(os.environ.get("CONNECT_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024))

# -- Django -----------------------------------------------------------------------------------

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-only-set-DJANGO_SECRET_KEY")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.messages",
    "chat",
]

MIDDLEWARE = [
    # First: a body larger than its URL takes is refused before anything reads it (chat/limits.py).
    "chat.limits.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "django_chat.urls"
WSGI_APPLICATION = "django_chat.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# No database: the only state is the session, kept server-side in files.
DATABASES: dict[str, dict[str, str]] = {}

# The session holds the connection token, a bearer secret: it stays on the server (the cookie
# carries only a random session key), never in a signed-but-readable cookie. And it must last
# as long as the chat: the file engine keeps every session until it expires (Django writes each
# file with mode 0600), where a LocMemCache-backed session is lost when the cache is full (its
# MAX_ENTRIES, 300 by default, culls a third of all entries), when the process restarts, and
# in every other worker process. In production use the database ("db" or "cached_db") or Redis
# through Django's cache framework (see docs/django.rst, "Where sessions live").
SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = os.environ.get("DJANGO_SESSION_DIR") or str(BASE_DIR / ".sessions")
os.makedirs(SESSION_FILE_PATH, mode=0o700, exist_ok=True)
SESSION_COOKIE_AGE = 24 * 60 * 60  # about as long as a connection token lives
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = os.environ.get("DJANGO_SECURE_COOKIES", "0") == "1"

# Messages survive session.flush() (ending a chat) in a cookie; they never carry secrets.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

# Request sizes (see chat/limits.py): a form of text fields is at most this large (a message
# is at most 16,384 bytes of UTF-8, up to three times that once URL-encoded); a file is refused
# everywhere but in the upload view, which checks the session first and stops reading a file at
# CONNECT_ATTACHMENT_MAX_BYTES. Files below FILE_UPLOAD_MAX_MEMORY_SIZE stay in memory, larger
# ones go to a temporary file; the library streams either.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
DATA_UPLOAD_MAX_NUMBER_FILES = 1
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = ["chat.limits.NoFiles"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
