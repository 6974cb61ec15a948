"""The embedded, deterministic chat backend (the default; no network).

It answers ``You said: <message>`` followed by a fixed sentence, so an answer is
never empty, and streams it word by word (at most `MAX_DELTAS` pieces, always at
least 3). The same message always gives the same answer and the same pieces.

Test hook: a message containing `FAIL_MARKER` (``[[fail]]``) makes the stream emit
one piece and then raise `Unavailable`, which exercises the error path of the chat
RPCs end to end without a real model.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncGenerator

from feedback_server.backends.base import ChatTurn
from feedback_server.errors import Unavailable

#: A message containing this marker makes `EchoBackend.stream` fail after one piece.
FAIL_MARKER = "[[fail]]"

#: Appended to every answer, so that answers are never empty.
ANSWER_SUFFIX = "This answer comes from the embedded echo backend."

#: Upper bound on the number of pieces of one answer (long messages are grouped).
MAX_DELTAS = 64

# A word with the whitespace that follows it: the pieces concatenate to the text.
_WORD = re.compile(r"\S+\s*")


class EchoBackend:
    """Answers every turn by echoing the message; deterministic and offline."""

    name = "echo"

    def __init__(self, delay_s: float = 0.0) -> None:
        if delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        self._delay_s = delay_s

    @staticmethod
    def answer(message: str) -> str:
        """The full answer to `message` (what the streamed pieces add up to)."""
        return f"You said: {message} {ANSWER_SUFFIX}"

    @staticmethod
    def pieces(message: str) -> list[str]:
        """The pieces `stream` yields for `message`, in order."""
        words = _WORD.findall(EchoBackend.answer(message))
        size = math.ceil(len(words) / MAX_DELTAS)
        return ["".join(words[i : i + size]) for i in range(0, len(words), size)]

    async def stream(self, turn: ChatTurn) -> AsyncGenerator[str, None]:
        fail = FAIL_MARKER in turn.message
        for index, piece in enumerate(self.pieces(turn.message)):
            if index:
                if fail:
                    raise Unavailable("echo backend failed on request (fail marker)")
                # Always yield to the loop, so that cancellation lands between pieces.
                await asyncio.sleep(self._delay_s)
            yield piece

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"EchoBackend(delay_s={self._delay_s!r})"
