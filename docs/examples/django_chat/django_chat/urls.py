"""Root URLconf: everything lives in the ``chat`` app."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("chat.urls")),
]
