from __future__ import annotations

from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.start_page, name="start"),
    path("start/", views.start_chat, name="start-chat"),
    path("chat/", views.chat_page, name="chat"),
    path("chat/send/", views.send_message, name="send"),
    path("chat/typing/", views.send_typing, name="typing"),
    path("chat/events/", views.chat_events, name="events"),
    path("chat/health/", views.chat_health, name="health"),
    path("chat/upload/", views.upload_attachment, name="upload"),
    path("chat/attachments/<str:attachment_id>/", views.download_attachment, name="attachment"),
    path("chat/attachments/<str:attachment_id>/status/", views.attachment_status, name="attachment-status"),
    path("chat/end/", views.end_chat, name="end"),
    path("chat/ended/", views.ended_page, name="ended"),
]
