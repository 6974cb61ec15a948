"""The edge's RPC metrics (edge/metrics.py): go-grpc-prometheus' names, labels and values."""

from __future__ import annotations

import grpc
import pytest
from feedback_server.edge import metrics
from feedback_server.edge.metrics import RpcCall
from google.protobuf import descriptor_pb2, descriptor_pool
from google.rpc import code_pb2
from prometheus_client import REGISTRY

#: go-grpc-prometheus' label values (Go's codes.Code.String()).
GO_CODE_NAMES = {
    "OK": "OK",
    "CANCELLED": "Canceled",
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "ALREADY_EXISTS": "AlreadyExists",
    "PERMISSION_DENIED": "PermissionDenied",
    "RESOURCE_EXHAUSTED": "ResourceExhausted",
    "FAILED_PRECONDITION": "FailedPrecondition",
    "ABORTED": "Aborted",
    "OUT_OF_RANGE": "OutOfRange",
    "UNIMPLEMENTED": "Unimplemented",
    "INTERNAL": "Internal",
    "UNAVAILABLE": "Unavailable",
    "DATA_LOSS": "DataLoss",
    "UNAUTHENTICATED": "Unauthenticated",
}


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def series(rpc_type: str, service: str, method: str) -> dict[str, str]:
    return {"grpc_type": rpc_type, "grpc_service": service, "grpc_method": method}


def test_every_code_is_labelled_as_go_names_it() -> None:
    for name, number in code_pb2.Code.items():
        assert metrics.code_label(number) == GO_CODE_NAMES[name]
    for code in grpc.StatusCode:
        assert metrics.code_label(code.value[0]) == GO_CODE_NAMES[code.name]
    assert metrics.code_label(99) == metrics.code_label(-1) == "Unknown"


def test_split_method_gives_the_full_service_name_and_the_method() -> None:
    assert metrics.split_method("/feedback.v1.ChatService/Chat") == (
        "feedback.v1.ChatService",
        "Chat",
    )
    assert metrics.split_method("/grpc.health.v1.Health/Check") == (
        "grpc.health.v1.Health",
        "Check",
    )


def test_a_unary_call_counts_start_messages_status_and_time() -> None:
    labels = series("unary", "test.v1.Probe", "UnaryOk")
    call = RpcCall("/test.v1.Probe/UnaryOk", "unary")
    assert sample("grpc_server_started_total", **labels) == 1
    assert sample("grpc_server_msg_received_total", **labels) == 1
    assert sample("grpc_server_handling_seconds_count", **labels) == 0
    call.handled(code_pb2.OK)
    call.handled(code_pb2.INTERNAL)  # a second end is ignored
    assert sample("grpc_server_handled_total", **labels, grpc_code="OK") == 1
    assert sample("grpc_server_handled_total", **labels, grpc_code="Internal") == 0
    assert sample("grpc_server_msg_sent_total", **labels) == 1
    assert sample("grpc_server_handling_seconds_count", **labels) == 1
    assert sample("grpc_server_handling_seconds_sum", **labels) > 0


def test_a_failed_unary_call_sends_no_message() -> None:
    labels = series("unary", "test.v1.Probe", "UnaryFails")
    RpcCall("/test.v1.Probe/UnaryFails", "unary").handled(code_pb2.NOT_FOUND)
    assert sample("grpc_server_handled_total", **labels, grpc_code="NotFound") == 1
    assert sample("grpc_server_msg_sent_total", **labels) == 0


def test_a_server_stream_counts_each_message_sent() -> None:
    labels = series("server_stream", "test.v1.Probe", "Stream")
    for _ in range(2):
        call = RpcCall("/test.v1.Probe/Stream", "server_stream")
        for _ in range(3):
            call.sent()
        call.handled(code_pb2.CANCELLED)
    assert sample("grpc_server_started_total", **labels) == 2
    assert sample("grpc_server_msg_received_total", **labels) == 2
    assert sample("grpc_server_msg_sent_total", **labels) == 6
    assert sample("grpc_server_handled_total", **labels, grpc_code="Canceled") == 2


@pytest.mark.parametrize(
    ("client_streaming", "server_streaming", "rpc_type"),
    [
        (False, False, "unary"),
        (False, True, "server_stream"),
        (True, False, "client_stream"),
        (True, True, "bidi_stream"),
    ],
)
def test_rpc_types(client_streaming: bool, server_streaming: bool, rpc_type: str) -> None:
    assert metrics.rpc_type_of(client_streaming, server_streaming) == rpc_type


def test_client_streams_count_the_messages_they_read() -> None:
    labels = series("client_stream", "test.v1.Probe", "Upload")
    call = RpcCall("/test.v1.Probe/Upload", "client_stream")
    assert sample("grpc_server_msg_received_total", **labels) == 0
    call.received()
    call.received()
    call.handled(code_pb2.OK)
    assert sample("grpc_server_msg_received_total", **labels) == 2
    assert sample("grpc_server_msg_sent_total", **labels) == 0


def test_initialize_creates_every_series_at_zero() -> None:
    pool = descriptor_pool.DescriptorPool()
    proto = descriptor_pb2.FileDescriptorProto(name="probe.proto", package="test.v2")
    proto.message_type.add(name="Empty")
    service = proto.service.add(name="Probe")
    service.method.add(name="Get", input_type=".test.v2.Empty", output_type=".test.v2.Empty")
    service.method.add(
        name="Watch",
        input_type=".test.v2.Empty",
        output_type=".test.v2.Empty",
        server_streaming=True,
    )
    pool.Add(proto)
    metrics.initialize([pool.FindServiceByName("test.v2.Probe")])

    for rpc_type, method in (("unary", "Get"), ("server_stream", "Watch")):
        labels = series(rpc_type, "test.v2.Probe", method)
        for name in ("started_total", "msg_received_total", "msg_sent_total"):
            assert REGISTRY.get_sample_value(f"grpc_server_{name}", labels) == 0
        assert REGISTRY.get_sample_value("grpc_server_handling_seconds_count", labels) == 0
        for code in GO_CODE_NAMES.values():
            assert (
                REGISTRY.get_sample_value(
                    "grpc_server_handled_total", {**labels, "grpc_code": code}
                )
                == 0
            )
