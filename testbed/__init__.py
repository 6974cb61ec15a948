"""Real servers and processes shared by the tests, the benchmarks and the scripts.

    mlflow_server     MlflowServer: ``mlflow server`` (SQLite or PostgreSQL store); kill and
                      start again at the same address; tracking_client for MLflow's client
    postgres          PostgresServer: a throwaway cluster on a Unix socket (Debian's package
                      installed when missing); ``python -m testbed.postgres ensure|run``
    feedback_server   FeedbackServerProcess: ``feedback-server`` as a subprocess (optionally
                      through a wrapper: small_disk_wrapper, its data dir on a small tmpfs)
    http_proxy        HttpProxy: a real proxy process in front of MLflow that answers 403 /
                      503 on demand
    fake_openai       FakeOpenAI: an OpenAI-compatible chat server in a thread, with failure modes
    processes         Process (own process group, log file, ready wait, stop, kill), kill_group
    ports             PortReservation, port_is_free: how servers get ports (see its doc)
    poll              poll / poll_async: wait for a condition, one semantics
    health            grpc_serving, http_get: one-shot health checks
    stats             percentile (nearest rank)

Standard library only at import time (grpc is imported where it is used): the test suite's
conftest imports these modules while collecting the unit tests too.
"""
