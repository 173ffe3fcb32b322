"""Forms of the chat pages. Each sending form carries a hidden idempotency token."""

from __future__ import annotations

import uuid

from django import forms

# SendMessage takes 1 to 16,384 bytes of UTF-8 (not characters: "é" counts 2).
MAX_CONTENT_LENGTH = 16384


class StartForm(forms.Form):
    display_name = forms.CharField(label="Your name", max_length=256)


class _IdempotentForm(forms.Form):
    # A fresh uuid every time the form is rendered (callable initial). A double-clicked or
    # re-posted form carries the same value, which the service treats as the same request.
    client_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class MessageForm(_IdempotentForm):
    text = forms.CharField(
        label="Message",
        max_length=MAX_CONTENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    field_order = ["text", "client_token"]

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if len(text.encode("utf-8", "surrogatepass")) > MAX_CONTENT_LENGTH:
            raise forms.ValidationError(f"A message can be at most {MAX_CONTENT_LENGTH} bytes of UTF-8.")
        return text


class UploadForm(_IdempotentForm):
    file = forms.FileField(label="Attachment")

    field_order = ["file", "client_token"]
