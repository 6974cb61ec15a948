"""The async client (`grpc.aio`)."""
