"""The one small interface every chat backend implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ChatTurn:
    """One validated chat turn, as the backend sees it."""

    message: str
    client_request_id: str
    user_id: str = ""
    session_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class ChatBackend(Protocol):
    """Produces the answer to a chat turn as a stream of text pieces.

    Implementations raise `feedback_server.errors.Unavailable` when the model
    cannot be reached or fails, never a raw library exception. Cancellation
    (`asyncio.CancelledError`) must propagate and release any connection.
    """

    #: Short name recorded on the trace (e.g. "echo", "openai:gpt-4o-mini").
    name: str

    def stream(self, turn: ChatTurn) -> AsyncGenerator[str, None]:
        """Yields the answer in order; the concatenation is the full answer."""
        ...

    async def aclose(self) -> None:
        """Releases connections; called once at shutdown."""
        ...
