"""A trace's inputs and outputs as the text a person reads."""

from __future__ import annotations

import json

from ..model import JsonValue
from .bounds import MAX_CONTENT_CHARS


def as_text(value: JsonValue) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def content_text(value: JsonValue, preview: str) -> str:
    """A trace's inputs or outputs as the text a person reads.

    Chat turns of this service store `{"message": ...}` / `{"response": ...}`; other
    applications often store one string field, a string, OpenAI chat messages or an
    OpenAI completion. Anything else is shown as JSON."""
    text = _extract_text(value)
    if text is None:
        text = preview if value is None else as_text(value)
    return clip(text)


def _extract_text(value: JsonValue) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        strings = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and strings:
            return strings[0]
        for key in ("message", "response", "question", "query", "input", "output", "answer"):
            if isinstance(value.get(key), str):
                return str(value[key])
        messages = value.get("messages")
        if isinstance(messages, list):
            users = [
                m.get("content")
                for m in messages
                if isinstance(m, dict) and m.get("role") == "user"
            ]
            if users and isinstance(users[-1], str):
                return users[-1]
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                return str(message["content"])
        if len(value) == 1:
            return _extract_text(next(iter(value.values())))
    return None


def clip(text: str) -> str:
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS]
