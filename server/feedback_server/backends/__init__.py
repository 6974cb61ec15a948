"""Chat backends: where the answers of chat turns come from."""

from __future__ import annotations

from feedback_server.backends.base import ChatBackend, ChatTurn
from feedback_server.backends.echo import EchoBackend
from feedback_server.backends.openai_compat import OpenAICompatibleBackend

__all__ = [
    "BACKEND_KINDS",
    "ChatBackend",
    "ChatTurn",
    "EchoBackend",
    "OpenAICompatibleBackend",
    "create_backend",
]

#: The accepted values of `create_backend`'s `kind` (FEEDBACK_CHAT_BACKEND).
BACKEND_KINDS = ("echo", "openai")


def create_backend(
    kind: str,
    *,
    base_url: str = "",
    model: str = "",
    api_key: str = "",
    timeout_s: float = 60.0,
    echo_delay_s: float = 0.0,
    system_prompt: str | None = None,
) -> ChatBackend:
    """Builds the chat backend named by `kind` ("echo" or "openai", case-insensitive).

    Raises `ValueError` for an unknown kind, or for "openai" without `base_url` or
    `model` or with a non-positive `timeout_s`. The messages never contain the key.
    `system_prompt`, when set, is sent first in every "openai" conversation.
    """
    normalized = kind.strip().lower()
    if normalized == "echo":
        return EchoBackend(delay_s=echo_delay_s)
    if normalized == "openai":
        missing = [
            env
            for env, value in (
                ("FEEDBACK_OPENAI_BASE_URL", base_url),
                ("FEEDBACK_OPENAI_MODEL", model),
            )
            if not value.strip()
        ]
        if missing:
            raise ValueError(f"chat backend 'openai' needs {' and '.join(missing)} to be set")
        if not base_url.strip().startswith(("http://", "https://")):
            raise ValueError(
                "FEEDBACK_OPENAI_BASE_URL must be an http:// or https:// URL "
                "such as http://127.0.0.1:11434/v1"
            )
        if not timeout_s > 0:
            raise ValueError("FEEDBACK_OPENAI_TIMEOUT_S must be > 0")
        return OpenAICompatibleBackend(
            base_url=base_url.strip(),
            model=model.strip(),
            api_key=api_key.strip(),
            timeout_s=timeout_s,
            system_prompt=system_prompt or None,
        )
    raise ValueError(f"unknown chat backend {kind!r}; expected one of: {', '.join(BACKEND_KINDS)}")
