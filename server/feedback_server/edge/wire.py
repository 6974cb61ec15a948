"""Request bytes -> messages, for both ports, safe against hostile input.

The request arrives as bytes (the gRPC handlers and the Connect codecs do not parse), so
credentials are checked first; then it is decoded here. Undecodable bytes, values nested
past the parser's limit, and JSON whose lists, maps or structured values are far past the
API's bounds are `InvalidArgument`, without the parser's text, before any costly
conversion (the exact bounds are checked by the servicers afterwards).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from ..domain.validation import MAX_STRUCTURED_BYTES
from ..errors import InvalidArgument

M = TypeVar("M", bound=Message)

#: No list or map of any request holds more (the largest documented bound is 500).
MAX_ENTRIES = 1_000
#: A structured value whose JSON is past this is refused before it is converted; the exact
#: bound (16 KiB as compact JSON) is checked after conversion. The slack covers numbers,
#: which the service renders as floats (`1` -> `1.0`).
MAX_JSON_STRUCTURED_BYTES = 2 * MAX_STRUCTURED_BYTES
JSON_MAX_DEPTH = 64  # protobuf JSON nesting; a valid request nests far less
_STRUCTURED = frozenset(
    {"google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue"}
)
KIB = 1024
#: The largest valid request of an RPC, from its documented bounds with every string at 4
#: bytes a character (README "Bounds"), rounded up: a larger one is refused from its size
#: alone, before it is decoded. Chat: message 128 KiB + metadata 132 KiB; feedback writes:
#: value or text 48 KiB + rationale 32 KiB + metadata 132 KiB. Other RPCs: the message limit.
MAX_REQUEST_BYTES = {
    "/feedback.v1.ChatService/Chat": 320 * KIB,
    "/feedback.v1.ChatService/StreamChat": 320 * KIB,
    "/feedback.v1.FeedbackService/LogFeedback": 256 * KIB,
    "/feedback.v1.FeedbackService/LogExpectation": 256 * KIB,
    "/feedback.v1.FeedbackService/LogRatings": 64 * KIB,
    "/feedback.v1.FeedbackService/SummarizeFeedback": 128 * KIB,
    "/feedback.v1.FeedbackService/ListFeedback": 8 * KIB,
    "/feedback.v1.FeedbackService/RetractFeedback": 8 * KIB,
    "/feedback.v1.FeedbackService/CreateFeedbackToken": 8 * KIB,
}


def check_size(method: str, data: bytes, *, json_body: bool = False) -> None:
    """Refuses a request larger than the largest valid one of its RPC (`MAX_REQUEST_BYTES`),
    before anything decodes it. JSON is allowed twice the size (names, escapes)."""
    bound = MAX_REQUEST_BYTES.get(method)
    if bound is not None and len(data) > bound * (2 if json_body else 1):
        error = InvalidArgument.of(
            "", f"the request is larger than any valid one of this RPC ({len(data)} bytes)"
        )
        error.message = f"invalid request: larger than any valid one ({len(data)} bytes)"
        raise error


def undecodable(type_name: str) -> InvalidArgument:
    description = (
        f"the request is not a valid {type_name}: undecodable bytes, or values nested"
        " past the parser's limit"
    )
    error = InvalidArgument.of("", description)
    error.message = f"invalid request: {description}"
    return error


def decode_binary(message_type: type[M], data: bytes) -> M:
    """The protobuf binary encoding of `message_type` (what gRPC and `application/proto`
    carry)."""
    try:
        return message_type.FromString(data)
    except (DecodeError, RecursionError, ValueError):
        raise undecodable(message_type.DESCRIPTOR.full_name) from None


def decode_json(message_type: type[M], data: bytes) -> M:
    """The protobuf JSON encoding of `message_type` (Connect's `application/json`).

    `json.loads` runs first (C, fast); the decoded tree is then checked against the
    message's descriptor (list and map sizes, the JSON size of structured values) before
    protobuf's JSON conversion, which is Python and slow on large input. Unknown fields
    are ignored, as Connect clients expect."""
    name = message_type.DESCRIPTOR.full_name
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise undecodable(name) from None
    if not isinstance(tree, dict):
        raise undecodable(name)
    _precheck(tree, message_type.DESCRIPTOR, "", 0)
    message = message_type()
    try:
        json_format.ParseDict(
            tree, message, ignore_unknown_fields=True, max_recursion_depth=JSON_MAX_DEPTH
        )
    except (json_format.ParseError, RecursionError, ValueError, TypeError):
        raise undecodable(name) from None
    return message


def encode_json(message: Message) -> bytes:
    return json_format.MessageToJson(message, indent=None).encode()


def _precheck(tree: dict[str, Any], descriptor: Any, path: str, depth: int) -> None:
    if depth > JSON_MAX_DEPTH:
        raise undecodable(descriptor.full_name)
    for key, value in tree.items():
        field = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if field is None or field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        where = f"{path}.{field.name}" if path else field.name
        entry: Any = field.message_type
        if field.is_repeated:
            if not isinstance(value, list | dict):
                continue
            if len(value) > MAX_ENTRIES:
                raise InvalidArgument.of(where, f"must have at most {MAX_ENTRIES} entries")
            if entry.GetOptions().map_entry:
                value_field = entry.fields_by_name["value"]
                if value_field.type == FieldDescriptor.TYPE_MESSAGE and isinstance(value, dict):
                    for k, item in value.items():
                        _precheck_one(item, value_field.message_type, f"{where}[{k!r}]", depth)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    _precheck_one(item, entry, f"{where}[{i}]", depth)
        else:
            _precheck_one(value, entry, where, depth)


def _precheck_one(value: Any, descriptor: Any, where: str, depth: int) -> None:
    if descriptor.full_name in _STRUCTURED:
        try:
            size = len(json.dumps(value, separators=(",", ":")))
        except (ValueError, RecursionError, TypeError):
            raise InvalidArgument.of(where, "is not a valid JSON value") from None
        if size > MAX_JSON_STRUCTURED_BYTES:
            raise InvalidArgument.of(
                where, f"must be at most {MAX_STRUCTURED_BYTES} bytes as JSON (got {size})"
            )
    elif isinstance(value, dict):
        _precheck(value, descriptor, where, depth + 1)
    elif value is not None and not descriptor.full_name.startswith("google.protobuf."):
        # protobuf's JSON parser, told to ignore unknown fields, would read it as empty
        raise InvalidArgument.of(where, f"must be a JSON object ({descriptor.full_name})")
