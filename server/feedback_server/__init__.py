"""gRPC feedback service for generative-AI applications."""

__version__ = "0.1.0"
