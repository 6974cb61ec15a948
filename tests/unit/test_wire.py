"""Request bytes -> messages (edge/wire.py) and the size check before conversion of
structured values (servicers/convert.py): hostile input is INVALID_ARGUMENT, without the
parser's text, and large values are refused from their size, not after converting them."""

from __future__ import annotations

import json

import pytest
from feedback.v1 import common_pb2, feedback_service_pb2
from feedback_server.domain.validation import Violations
from feedback_server.edge import wire
from feedback_server.edge.wire import MAX_ENTRIES, decode_binary, decode_json
from feedback_server.errors import InvalidArgument
from feedback_server.servicers import convert
from feedback_server.servicers.convert import feedback_value_in
from google.protobuf import struct_pb2

Request = feedback_service_pb2.LogFeedbackRequest
LEAKS = ("Error parsing", "DecodeError", "Traceback", "RecursionError", "line ", "column")


def nested_value(levels: int) -> struct_pb2.Value:
    value = struct_pb2.Value(number_value=1)
    for _ in range(levels):
        outer = struct_pb2.Value()
        outer.list_value.values.append(value)
        value = outer
    return value


def deep_request_bytes(levels: int) -> bytes:
    """A LogFeedbackRequest whose structured value nests `levels` lists deep, encoded by
    hand (protobuf itself refuses to build one past its depth limit)."""
    value = b"\x11" + b"\x00" * 8  # Value.number_value = 0
    for _ in range(levels):
        listed = _field(1, value)  # ListValue.values
        value = _field(6, listed)  # Value.list_value
    head = Request(target=common_pb2.TraceRef(trace_id="tr-" + "a" * 32)).SerializeToString()
    return head + _field(3, _field(5, value))  # .value.structured


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def assert_clean(error: InvalidArgument, field: str = "") -> None:
    [violation] = error.violations
    assert violation.field == field
    for leak in LEAKS:
        assert leak not in error.message and leak not in violation.description


@pytest.mark.parametrize(
    "data",
    [b"\xff\xff\xff", b"\x0a\xff", b"\x12\x05ab", bytes(range(256)), deep_request_bytes(120)],
    ids=["garbage", "bad-length", "truncated", "all-bytes", "nested-past-the-parser"],
)
def test_undecodable_protobuf_is_invalid_argument_without_the_parsers_text(data: bytes) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_binary(Request, data)
    assert_clean(info.value)
    assert "feedback.v1.LogFeedbackRequest" in info.value.message


@pytest.mark.parametrize(
    "data",
    [
        b"{",
        b"\xff\xfe",
        b"[]",
        b'"text"',
        b'{"target": "x"}',
        b'{"value": {"boolean": "yes"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"value": {"structured": ' + b"[" * 5_000 + b"]" * 5_000 + b"}}",
    ],
    ids=[
        "truncated",
        "not-utf8",
        "not-an-object",
        "a-string",
        "wrong-type",
        "wrong-value",
        "deep-array",
        "deep-value",
    ],
)
def test_undecodable_json_is_invalid_argument_without_the_parsers_text(data: bytes) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_json(Request, data)
    assert_clean(info.value, info.value.violations[0].field)


def test_json_decodes_with_camel_case_or_proto_names_and_ignores_unknown_fields() -> None:
    body = {
        "target": {"traceId": "tr-" + "a" * 32},
        "value": {"boolean": True},
        "request_id": "r1",
        "someFutureField": 3,
    }
    request = decode_json(Request, json.dumps(body).encode())
    assert request.target.trace_id == "tr-" + "a" * 32
    assert request.value.boolean and request.request_id == "r1"


@pytest.fixture
def no_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """protobuf's Python conversions (JSON -> message, message -> dict) must not run."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted before its size was checked")

    monkeypatch.setattr(wire.json_format, "ParseDict", refuse)
    monkeypatch.setattr(convert.json_format, "MessageToDict", refuse)


def test_json_structured_values_far_past_their_bound_are_refused_before_conversion(
    no_conversion: None,
) -> None:
    values = list(range(200_000))  # ~1.3 MB of JSON; protobuf's conversion takes ~0.3 s
    body = json.dumps({"value": {"structured": values}}).encode()
    with pytest.raises(InvalidArgument) as info:
        decode_json(Request, body)
    assert_clean(info.value, "value.structured")


def test_json_lists_and_maps_past_any_bound_are_refused_before_conversion(
    no_conversion: None,
) -> None:
    metadata = {f"k{i}": "v" for i in range(MAX_ENTRIES + 1)}
    with pytest.raises(InvalidArgument) as info:
        decode_json(Request, json.dumps({"metadata": metadata}).encode())
    assert_clean(info.value, "metadata")
    batch = {"requests": [{"value": {"structured": list(range(20_000))}}]}
    with pytest.raises(InvalidArgument) as info:
        decode_json(feedback_service_pb2.BatchLogFeedbackRequest, json.dumps(batch).encode())
    assert_clean(info.value, "requests[0].value.structured")


def test_binary_structured_values_are_refused_from_their_size_before_conversion(
    no_conversion: None,
) -> None:
    big = struct_pb2.Value()
    big.list_value.values.extend(struct_pb2.Value(number_value=i) for i in range(300_000))
    value = common_pb2.FeedbackValue(structured=big)  # 3.3 MB encoded
    v = Violations()
    assert feedback_value_in(v, value, True) is None
    [violation] = v.items
    assert violation.field == "value.structured" and "16384 bytes" in violation.description


def test_structured_values_within_the_cheap_bound_get_the_exact_checks() -> None:
    for value, expected in (
        (nested_value(10), "nested at most 8 levels"),
        (struct_pb2.Value(string_value="x" * 20_000), "at most 16384 bytes"),
    ):
        v = Violations()
        feedback_value_in(v, common_pb2.FeedbackValue(structured=value), True)
        [violation] = v.items
        assert expected in violation.description
    v = Violations()
    assert feedback_value_in(v, common_pb2.FeedbackValue(structured=nested_value(3)), True)
    assert v.items == []


def test_a_request_larger_than_any_valid_one_of_its_rpc_is_refused_undecoded(
    no_conversion: None,
) -> None:
    method = "/feedback.v1.FeedbackService/LogFeedback"
    bound = wire.MAX_REQUEST_BYTES[method]
    wire.check_size(method, b"\0" * bound)
    wire.check_size(method, b"{" + b" " * (2 * bound - 1), json_body=True)
    for data, json_body in ((b"\0" * (bound + 1), False), (b"{" * (2 * bound + 1), True)):
        with pytest.raises(InvalidArgument) as info:
            wire.check_size(method, data, json_body=json_body)
        assert_clean(info.value)
        assert "larger than any valid one" in info.value.message
    # RPCs without a bound of their own: the message limit alone.
    wire.check_size("/feedback.v1.ReviewService/SubmitLabels", b"\0" * (4 * bound))
