"""A chat turn's trace as the durable record the spool keeps (mlflow_gateway/export.py):
MLflow's exporter hands the finished trace over instead of sending it, and the record
(`Trace.to_json`) reads back into the same trace, span for span. No MLflow server: nothing
here may reach the network (the tracking URI points at a closed port)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from feedback_server.backends.base import ChatTurn
from feedback_server.domain.trace_parent import TraceParent
from feedback_server.mlflow_gateway import MlflowGateway, install
from feedback_server.mlflow_gateway.export import CAPTURE, export_recorded
from google.protobuf.json_format import MessageToDict
from mlflow.entities import Trace, TraceState

from testbed.ports import PortReservation


@pytest.fixture(scope="module")
def gateway() -> Iterator[MlflowGateway]:
    install(timeout_s=1, mlflow_threads=4, traces_in_memory=100)
    with PortReservation() as closed:  # bound, never listening: a call would be refused
        gw = MlflowGateway(tracking_uri=f"http://127.0.0.1:{closed.port}", experiment_name="unused")
        yield gw
        gw.close()


def _turn(**kwargs: Any) -> ChatTurn:
    defaults: dict[str, Any] = {
        "message": 'Wie spät ist es? — «quotes» and "escapes" \\ and emoji 🎉',
        "client_request_id": "req-roundtrip-1",
        "user_id": "user-7",
        "session_id": "session-3",
        "metadata": {"app.version": "1.2.3", "empty": ""},
    }
    defaults.update(kwargs)
    return ChatTurn(**defaults)


def _record(gateway: MlflowGateway, turn: ChatTurn, **finish: Any) -> Any:
    trace = gateway.start_chat_trace(rpc="Chat", turn=turn, backend="echo", experiment_id="7")
    return trace, trace.finish(**finish)


def _otlp(trace: Trace) -> list[dict[str, Any]]:
    """The spans as MLflow's client sends them to the tracking server (OTLP)."""
    return [MessageToDict(span.to_otel_proto()) for span in trace.data.spans]


def test_a_finished_turn_becomes_a_record_that_reads_back_exactly(
    gateway: MlflowGateway,
) -> None:
    turn = _turn()
    trace, record = _record(gateway, turn, response="It is noon. 🕛")
    assert record.trace_id == trace.trace_id and record.client_request_id == turn.client_request_id
    restored = Trace.from_json(record.payload)
    # A fixed point: nothing lost, added or changed (map order aside).
    assert json.loads(restored.to_json()) == json.loads(record.payload)
    info = restored.info
    assert info.trace_id == trace.trace_id
    assert info.client_request_id == "req-roundtrip-1"
    assert info.experiment_id == "7"
    assert info.state == TraceState.OK
    assert info.trace_metadata["mlflow.trace.user"] == "user-7"
    assert info.trace_metadata["mlflow.trace.session"] == "session-3"
    assert info.trace_metadata["app.version"] == "1.2.3"
    # MLflow's exporter adds the size statistics right before sending: so does the export.
    assert "mlflow.trace.sizeBytes" not in info.trace_metadata
    assert info.request_preview == turn.message
    assert info.execution_duration is not None and info.request_time > 0
    root, child = sorted(restored.data.spans, key=lambda s: s.parent_id is not None)
    assert root.parent_id is None and child.parent_id == root.span_id
    assert (root.name, child.name) == ("Chat", "echo")
    assert root.inputs == {"message": turn.message}
    assert root.outputs == {"response": "It is noon. 🕛"}
    assert child.inputs == {"messages": [{"role": "user", "content": turn.message}]}
    assert all(s.status.status_code.value == "OK" for s in restored.data.spans)
    assert root.start_time_ns <= child.start_time_ns <= child.end_time_ns <= root.end_time_ns
    # The spans MLflow would be sent are the same from the record as from a re-read record.
    assert _otlp(restored) == _otlp(Trace.from_json(restored.to_json()))


def test_a_failed_turn_is_recorded_with_state_error(gateway: MlflowGateway) -> None:
    _, record = _record(
        gateway, _turn(client_request_id="req-failed"), response="half", error="backend down"
    )
    restored = Trace.from_json(record.payload)
    assert restored.info.state == TraceState.ERROR
    assert restored.info.trace_metadata["feedback.error"] == "backend down"
    assert all(s.status.status_code.value == "ERROR" for s in restored.data.spans)
    root = next(s for s in restored.data.spans if s.parent_id is None)
    assert root.outputs == {"response": "half", "error": "backend down"}


def test_records_are_independent_of_each_other_and_leave_nothing_behind(
    gateway: MlflowGateway,
) -> None:
    first, second = (
        _record(gateway, _turn(client_request_id=f"req-{i}"), response=str(i)) for i in range(2)
    )
    a, b = Trace.from_json(first[1].payload), Trace.from_json(second[1].payload)
    assert a.info.trace_id != b.info.trace_id
    assert {s.trace_id for s in a.data.spans} == {a.info.trace_id}
    assert CAPTURE.collect(a.info.trace_id) is None  # handed over once, then forgotten
    payload = json.loads(first[1].payload)
    assert set(payload) == {"info", "data"} and len(payload["data"]["spans"]) == 2


class _Recorder:
    """MLflow's tracing client, as far as the export of a record uses it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def log_spans(self, location: str, spans: list[Any]) -> list[Any]:
        self.calls.append(("log_spans", (location, [s.span_id for s in spans])))
        return spans

    def start_trace(self, info: Any) -> Any:
        self.calls.append(("start_trace", info))
        info.tags["mlflow.trace.spansLocation"] = "TRACKING_STORE"
        return info

    def _upload_trace_data(self, info: Any, data: Any) -> None:
        self.calls.append(("upload", info.trace_id))


def test_a_record_is_exported_as_mlflows_exporter_sends_a_trace(gateway: MlflowGateway) -> None:
    trace, record = _record(gateway, _turn(), response="exported")
    client = _Recorder()
    export_recorded(client, record.payload)  # type: ignore[arg-type]
    (name1, (location, span_ids)), (name2, info) = client.calls
    assert (name1, name2) == ("log_spans", "start_trace")  # spans kept by the tracking store
    assert location == "7" and len(span_ids) == 2
    assert info.trace_id == trace.trace_id and info.client_request_id == "req-roundtrip-1"
    sizes = json.loads(info.trace_metadata["mlflow.trace.sizeStats"])
    assert sizes["num_spans"] == 2 and int(info.trace_metadata["mlflow.trace.sizeBytes"]) > 0


PARENT = TraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)


def test_a_turn_with_a_trace_parent_continues_the_callers_trace(gateway: MlflowGateway) -> None:
    trace = gateway.start_chat_trace(
        rpc="Chat", turn=_turn(), backend="echo", experiment_id="7", parent=PARENT
    )
    assert trace.trace_id == f"tr-{PARENT.trace_id}"
    restored = Trace.from_json(trace.finish(response="continued").payload)
    assert restored.info.trace_id == f"tr-{PARENT.trace_id}"
    assert restored.info.state == TraceState.OK and restored.info.execution_duration is not None
    root = next(s for s in restored.data.spans if s.name == "Chat")
    child = next(s for s in restored.data.spans if s.name == "echo")
    assert root.parent_id == PARENT.span_id and child.parent_id == root.span_id
    # OTLP as MLflow's client sends it: the caller's trace ID, the caller's span as parent.
    otlp_root = next(s for s in _otlp(restored) if s["name"] == "Chat")
    assert base64.b64decode(otlp_root["traceId"]).hex() == PARENT.trace_id
    assert base64.b64decode(otlp_root["parentSpanId"]).hex() == PARENT.span_id
    # The next turn without a parent gets a trace of its own.
    _, plain = _record(gateway, _turn(), response="plain")
    assert plain.trace_id != trace.trace_id


def test_a_trace_parent_in_use_here_gives_the_turn_its_own_linked_trace(
    gateway: MlflowGateway,
) -> None:
    parent = TraceParent("5bf92f3577b34da6a3ce929d0e0e4736", "10f067aa0ba902b7", 1)
    first = gateway.start_chat_trace(
        rpc="Chat", turn=_turn(), backend="echo", experiment_id="7", parent=parent
    )
    second = gateway.start_chat_trace(  # while the first is under way
        rpc="Chat", turn=_turn(), backend="echo", experiment_id="7", parent=parent
    )
    recorded = first.finish(response="first")
    third = gateway.start_chat_trace(  # recorded, not exported yet
        rpc="Chat",
        turn=_turn(),
        backend="echo",
        experiment_id="7",
        parent=parent,
        taken=lambda trace_id: trace_id == recorded.trace_id,
    )
    assert first.trace_id == f"tr-{parent.trace_id}"
    for other in (second, third):
        assert other.trace_id != first.trace_id
        root = next(
            s
            for s in Trace.from_json(other.finish(response="x").payload).data.spans
            if s.name == "Chat"
        )
        assert root.parent_id is None
        assert [(link.trace_id, link.span_id) for link in root.links] == [
            (f"tr-{parent.trace_id}", parent.span_id)
        ]
