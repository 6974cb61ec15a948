"""Server reflection v1 (servicers/reflection.py): the v1 file is v1alpha's in package
`grpc.reflection.v1`, so v1alpha's servicer and messages read and write v1's bytes."""

from __future__ import annotations

from feedback_server.servicers import reflection
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha


def shape(proto: descriptor_pb2.FileDescriptorProto, package: str) -> list[tuple[object, ...]]:
    """Every message field and method of `proto`, with `package` taken out of type names."""

    def local(type_name: str) -> str:
        return type_name.removeprefix(f".{package}.")

    fields = [
        (m.name, f.name, f.number, f.type, f.label, local(f.type_name), f.oneof_index)
        for m in proto.message_type
        for f in m.field
    ]
    methods = [
        (
            s.name,
            m.name,
            local(m.input_type),
            local(m.output_type),
            m.client_streaming,
            m.server_streaming,
        )
        for s in proto.service
        for m in s.method
    ]
    return [*fields, *methods]


def test_the_v1_file_is_v1alpha_in_the_v1_package() -> None:
    alpha = descriptor_pb2.FileDescriptorProto()
    v1alpha.DESCRIPTOR.CopyToProto(alpha)
    v1 = reflection.v1_file()
    assert v1.name == "grpc/reflection/v1/reflection.proto"
    assert v1.package == "grpc.reflection.v1"
    assert shape(v1, "grpc.reflection.v1") == shape(alpha, "grpc.reflection.v1alpha")
    assert len(shape(v1, "grpc.reflection.v1")) > 20
    assert not any("v1alpha" in t for t in str(v1).split())
    assert not v1.options.deprecated and alpha.options.deprecated
    assert v1.options.java_package == "io.grpc.reflection.v1"


def test_v1_messages_read_and_write_v1alpha_bytes() -> None:
    pool = descriptor_pool.DescriptorPool()
    reflection.add_v1_descriptor(pool)
    reflection.add_v1_descriptor(pool)  # once is enough; a second call changes nothing
    service = pool.FindServiceByName(reflection.V1_SERVICE_NAME)
    assert service.methods_by_name["ServerReflectionInfo"].input_type.full_name == (
        "grpc.reflection.v1.ServerReflectionRequest"
    )
    request_v1 = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest")
    )
    response_v1 = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse")
    )
    request = v1alpha.ServerReflectionRequest(
        host="h",
        file_containing_extension=v1alpha.ExtensionRequest(
            containing_type="a.B", extension_number=7
        ),
    )
    as_v1 = request_v1.FromString(request.SerializeToString())
    assert as_v1.file_containing_extension.extension_number == 7
    assert as_v1.SerializeToString() == request.SerializeToString()
    response = v1alpha.ServerReflectionResponse(
        original_request=request,
        list_services_response=v1alpha.ListServiceResponse(
            service=[v1alpha.ServiceResponse(name=reflection.V1_SERVICE_NAME)]
        ),
    )
    read = response_v1.FromString(response.SerializeToString())
    assert read.list_services_response.service[0].name == reflection.V1_SERVICE_NAME
    assert read.original_request.host == "h"
