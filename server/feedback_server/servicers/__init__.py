"""gRPC servicers: thin layers of validate -> convert -> domain -> convert."""
