"""The MLflow tracking servers the tests run against, on SQLite and on PostgreSQL.

What the feedback service relies on, straight through MLflow's own client: traces with a
client request ID, feedback assessments, search by client request ID, label schemas and
review queues (MLflow 3.17 OSS); and the outage helpers (kill, restart on the same store).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import AssessmentSource, AssessmentSourceType
from mlflow.exceptions import MlflowException
from mlflow.genai.label_schemas.label_schemas import InputPassFail, LabelSchemaType
from mlflow.tracing.client import TracingClient

from testbed.mlflow_server import MlflowServer, MlflowServerError, tracking_client

pytestmark = pytest.mark.integration


def _traced_turn(client_request_id: str, message: str = "What is MLflow?") -> str:
    """One traced chat turn, exported before returning; its trace ID."""
    with mlflow.start_span(name="chat") as span:
        span.set_inputs({"message": message})
        mlflow.update_current_trace(client_request_id=client_request_id, user="user-1")
        span.set_outputs({"response": f"echo: {message}"})
        trace_id = span.trace_id
    mlflow.flush_trace_async_logging()
    return trace_id


def _thumbs_up(trace_id: str) -> str:
    assessment = mlflow.log_feedback(
        trace_id=trace_id,
        name="user_feedback",
        value=True,
        rationale="clear answer",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="user-1"),
    )
    return str(assessment.assessment_id)


def test_the_service_id_bound_is_what_mlflow_stores(mlflow_server: MlflowServer) -> None:
    """Source IDs (and user and session IDs) are bounded to MAX_ID_CHARS by the service: an
    ID that long is stored whole on both stores; PostgreSQL refuses a longer one (SQLite
    does not enforce column sizes), which is why the service refuses it before
    acknowledging anything."""
    from feedback_server.domain.validation import MAX_ID_CHARS

    longest = "s" * MAX_ID_CHARS
    with tracking_client(mlflow_server.url, max_retries=0):
        mlflow.set_experiment(f"bounds-{uuid.uuid4().hex[:8]}")
        trace_id = _traced_turn(f"bounds-{uuid.uuid4().hex[:16]}")
        source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=longest)
        mlflow.log_feedback(trace_id=trace_id, name="longest_source", value=True, source=source)
        trace = mlflow.get_trace(trace_id)
        assert trace is not None
        (stored,) = [a for a in trace.info.assessments if a.name == "longest_source"]
        assert stored.source.source_id == longest
        if mlflow_server.backend == "postgresql":
            too_long = AssessmentSource(
                source_type=AssessmentSourceType.HUMAN, source_id=longest + "s"
            )
            with pytest.raises(MlflowException):
                mlflow.log_feedback(trace_id=trace_id, name="too_long", value=True, source=too_long)


def test_traces_feedback_and_search(mlflow_server: MlflowServer) -> None:
    crid = f"smoke-{uuid.uuid4().hex[:16]}"
    with tracking_client(mlflow_server.url):
        experiment = mlflow.set_experiment(f"smoke-{uuid.uuid4().hex[:8]}")
        assert experiment.artifact_location.startswith("mlflow-artifacts:/")
        trace_id = _traced_turn(crid)
        assert trace_id.startswith("tr-")
        assessment_id = _thumbs_up(trace_id)

        trace = mlflow.get_trace(trace_id)
        assert trace is not None
        assert trace.info.client_request_id == crid
        assert [s.name for s in trace.data.spans] == ["chat"]
        feedback = [a for a in trace.info.assessments if a.name == "user_feedback"]
        assert [a.assessment_id for a in feedback] == [assessment_id]
        assert feedback[0].value is True
        assert feedback[0].rationale == "clear answer"
        assert feedback[0].source.source_type == AssessmentSourceType.HUMAN
        assert feedback[0].source.source_id == "user-1"

        found = mlflow.search_traces(
            locations=[experiment.experiment_id],
            filter_string=f"attributes.client_request_id = '{crid}'",
            return_type="list",
        )
        assert [t.info.trace_id for t in found] == [trace_id]
        none = mlflow.search_traces(
            locations=[experiment.experiment_id],
            filter_string="attributes.client_request_id = 'no-such-request'",
            return_type="list",
        )
        assert list(none) == []


def test_label_schemas_and_review_queues(mlflow_server: MlflowServer) -> None:
    with tracking_client(mlflow_server.url):
        experiment = mlflow.set_experiment(f"labels-{uuid.uuid4().hex[:8]}")
        trace_id = _traced_turn(f"labels-{uuid.uuid4().hex[:16]}")
        client = TracingClient()

        created = client._create_label_schema(
            experiment.experiment_id,
            name="answer_correct",
            type="feedback",
            input=InputPassFail(positive_label="Correct", negative_label="Incorrect"),
            instruction="Is the answer factually correct?",
        )
        assert created.schema_id
        listed = {s.schema_id: s for s in client._list_label_schemas(experiment.experiment_id)}
        assert created.schema_id in listed
        schema = listed[created.schema_id]
        assert schema.name == "answer_correct"
        assert schema.type == LabelSchemaType.FEEDBACK
        assert schema.input == InputPassFail(positive_label="Correct", negative_label="Incorrect")
        assert schema.instruction == "Is the answer factually correct?"

        queue = client._create_review_queue(
            experiment.experiment_id,
            name=f"queue-{uuid.uuid4().hex[:8]}",
            queue_type="custom",
            schema_ids=[created.schema_id],
        )
        client._add_items_to_review_queue(queue.queue_id, item_ids=[trace_id])
        items = list(client._list_review_queue_items(queue.queue_id))
        assert [(i.item_id, str(i.status)) for i in items] == [(trace_id, "pending")]
        done = client._set_review_queue_item_status(
            queue.queue_id, item_id=trace_id, status="complete", completed_by="user-1"
        )
        assert str(done.status) == "complete"
        assert list(client._list_review_queue_items(queue.queue_id, status="pending")) == []


@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_then_restart_keeps_the_data(
    mlflow_server_factory: Callable[..., MlflowServer], backend: str
) -> None:
    server = mlflow_server_factory(backend)
    port, url = server.port, server.url
    with tracking_client(server.url, max_retries=0, timeout_s=5):
        experiment_id = mlflow.create_experiment(f"outage-{uuid.uuid4().hex[:8]}")
        mlflow.set_experiment(experiment_id=experiment_id)
        trace_id = _traced_turn(f"outage-{uuid.uuid4().hex[:16]}")
        assessment_id = _thumbs_up(trace_id)

        server.kill()
        assert not server.running
        assert not server.healthy()
        with pytest.raises(MlflowException):
            mlflow.get_experiment(experiment_id)

        server.start()
        assert (server.port, server.url) == (port, url)
        assert server.healthy()
        assert mlflow.get_experiment(experiment_id).experiment_id == experiment_id
        trace = mlflow.get_trace(trace_id)
        assert trace is not None
        assert [a.assessment_id for a in trace.info.assessments] == [assessment_id]
    assert server.starts == 2
    assert server.log_path.is_file()
    assert "start #2" in server.log_tail()


def test_a_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    server = MlflowServer("nosuchscheme://feedback-tests/store", tmp_path)
    try:
        with pytest.raises(MlflowServerError) as failure:
            server.start()
    finally:
        server.stop()
    message = str(failure.value)
    assert "exited with code" in message
    assert str(server.log_path) in message
    assert "nosuchscheme" in message  # the tail of the server's log is in the error
    assert not server.running
