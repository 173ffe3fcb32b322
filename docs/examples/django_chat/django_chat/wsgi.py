"""WSGI entry point for the django_chat example."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_chat.settings")

application = get_wsgi_application()
