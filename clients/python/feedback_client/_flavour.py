"""What differs between the sync client (over `grpc`) and the async one (over `grpc.aio`).

The client is written once, as async code in `_async/`; `_sync/` is generated from it by
unasync (scripts/gen_sync_client.py, run by `make proto`), which drops `async` and `await`
and renames every ``AsyncName`` to ``SyncName``. What cannot be written once lives here, in
pairs named that way: `AsyncGrpc` / `SyncGrpc` (channels, failed calls) and
`AsyncStreamBase` / `SyncStreamBase` (a stream's initial metadata).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

import grpc
import grpc.aio

from ._errors import FeedbackError, error_for, from_rpc_error, metadata_str
from ._service_config import CHANNEL_OPTIONS
from ._types import TRACE_ID_METADATA_KEY, TlsOptions

#: The channel types of the `channel` arguments (`AsyncChannel` becomes `Channel` in `_sync/`).
Channel: TypeAlias = grpc.Channel
AsyncChannel: TypeAlias = grpc.aio.Channel


def _tls(tls: TlsOptions) -> tuple[grpc.ChannelCredentials, list[tuple[str, str | int]]]:
    """The credentials and channel options of `tls`."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=TlsOptions.read(tls.ca),
        private_key=TlsOptions.read(tls.key),
        certificate_chain=TlsOptions.read(tls.cert),
    )
    options: list[tuple[str, str | int]] = list(CHANNEL_OPTIONS)
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return credentials, options


class SyncGrpc:
    """Blocking calls over a `grpc.Channel`."""

    #: What a failed call raises.
    ERRORS: tuple[type[BaseException], ...] = (grpc.RpcError,)

    @staticmethod
    def insecure_channel(target: str) -> Channel:
        return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)

    @staticmethod
    def secure_channel(target: str, tls: TlsOptions) -> Channel:
        return grpc.secure_channel(target, *_tls(tls))

    @staticmethod
    def error(error: BaseException, trace_id: str | None = None) -> FeedbackError:
        """The `FeedbackError` of a failed call (one of `ERRORS`)."""
        return from_rpc_error(error, trace_id=trace_id)


class AsyncGrpc:
    """Awaited calls over a `grpc.aio.Channel`."""

    #: What a failed call raises: `grpc.aio` cancels the calls of a channel that closes.
    ERRORS: tuple[type[BaseException], ...] = (grpc.RpcError, asyncio.CancelledError)

    @staticmethod
    def insecure_channel(target: str) -> AsyncChannel:
        return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)

    @staticmethod
    def secure_channel(target: str, tls: TlsOptions) -> AsyncChannel:
        return grpc.aio.secure_channel(target, *_tls(tls))

    @staticmethod
    def error(error: BaseException, trace_id: str | None = None) -> FeedbackError:
        """The `FeedbackError` of a failed call (one of `ERRORS`).

        A call cancelled under its caller (its channel closed, or the stream cancelled from
        elsewhere) fails with `CANCELLED`, as in the sync client. When the caller's own task
        is being cancelled, its `CancelledError` is raised again unchanged.
        """
        if isinstance(error, asyncio.CancelledError):
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise error
            return error_for(
                grpc.StatusCode.CANCELLED, "the call was cancelled locally", trace_id=trace_id
            )
        return from_rpc_error(error, trace_id=trace_id)


class _StreamBase:
    """A streaming call, and the trace ID of its initial metadata once that is read."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._headers_read = False
        self._trace_id_header: str | None = None


class SyncStreamBase(_StreamBase):
    """The initial metadata of a blocking stream: read when it is asked for."""

    @property
    def trace_id_header(self) -> str | None:
        """The trace ID from the initial metadata (`x-mlflow-trace-id`).

        Waits for the initial metadata if it has not arrived yet (it arrives at the latest
        with the first message), so it is known before the first delta is read.
        """
        self._read_headers()
        return self._trace_id_header

    def _read_headers(self) -> None:
        if not self._headers_read:
            self._headers_read = True
            try:
                metadata = self._call.initial_metadata()
            except Exception:  # a header that cannot be read must not hide a call's own error
                metadata = None
            self._trace_id_header = metadata_str(metadata, TRACE_ID_METADATA_KEY)

    def _message_read(self) -> None:
        """Nothing to do: `trace_id_header` waits for the initial metadata itself."""


class AsyncStreamBase(_StreamBase):
    """The initial metadata of an awaited stream: read with the first message."""

    @property
    def trace_id_header(self) -> str | None:
        """The trace ID from the initial metadata (`x-mlflow-trace-id`), once received (at
        the latest with the first message); see `wait_trace_id_header()`."""
        return self._trace_id_header

    async def wait_trace_id_header(self) -> str | None:
        """Waits for the initial metadata and returns its trace ID, before any delta."""
        await self._read_headers()
        return self._trace_id_header

    async def _read_headers(self) -> None:
        if not self._headers_read:
            self._headers_read = True
            try:
                metadata = await self._call.initial_metadata()
            except Exception:  # a header that cannot be read must not hide a call's own error
                metadata = None
            self._trace_id_header = metadata_str(metadata, TRACE_ID_METADATA_KEY)

    async def _message_read(self) -> None:
        """The initial metadata came with the first message: takes it for `trace_id_header`."""
        await self._read_headers()
