"""The Python client's review calls run the seed's review from start to end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.review.support import (
    ACCURACY_OPTIONS,
    EXPECTED_MLFLOW,
    Review,
    assessments_of,
    thumbs_down_turn,
    unique,
)
from tests.integration.service import wait_until

pytestmark = pytest.mark.integration


async def test_python_client_runs_the_seed_review(review: Review) -> None:
    from feedback_client import (
        AsyncFeedbackClient,
        Categorical,
        EvaluationItemStatus,
        FreeText,
        InvalidArgumentError,
        Label,
        LabelSchemaType,
        NotFoundError,
        ReviewItemStatus,
        Text,
    )

    client = AsyncFeedbackClient(channel=review.service.channel, timeout=60)
    accuracy, expected = unique("response_accuracy"), unique("expected_response")
    schema = await client.create_label_schema(
        accuracy, Categorical(ACCURACY_OPTIONS), enable_comment=True
    )
    assert schema.input == Categorical(tuple(ACCURACY_OPTIONS))
    await client.create_label_schema(expected, FreeText(), type="expectation")
    assert (await client.get_label_schema(expected)).type is LabelSchemaType.EXPECTATION
    assert {accuracy, expected} <= {s.name for s in await client.list_label_schemas()}

    session = unique("quickstart_review")
    created = await client.create_review_session(session, [accuracy, expected], ["Expert_1"])
    assert created.reviewers == ("expert_1",)
    assert session in {s.name for s in await client.list_review_sessions("expert_1")}
    since = datetime.now(UTC)
    trace_id = await thumbs_down_turn(review, "What is MLflow?")
    await wait_until(lambda: assessments_of(review, trace_id))
    added = await client.add_session_items_matching(session, feedback_value=False, start=since)
    assert [i.trace_id for i in added.items] == [trace_id]
    other = await client.add_session_items(session, [trace_id])
    assert other.items[0].status is ReviewItemStatus.PENDING

    task = await client.next_item(session, "expert_1", lease=120)
    assert task.item is not None and task.item.trace_id == trace_id
    assert [s.name for s in task.label_schemas] == [accuracy, expected]
    assert any(a.name == "user_feedback" and a.value is False for a in task.item.assessments)
    with pytest.raises(InvalidArgumentError) as bad:
        await client.submit_labels(session, "expert_1", trace_id, {accuracy: "Purple"})
    assert [v.field for v in bad.value.field_violations] == [f"labels[{accuracy!r}]"]
    done = await client.submit_labels(
        session,
        "expert_1",
        trace_id,
        {accuracy: Label("Inaccurate", comment="wrong"), expected: Text(EXPECTED_MLFLOW)},
    )
    assert done.status is ReviewItemStatus.COMPLETE
    progress = await client.session_progress(session)
    assert progress.complete_count == 1 and progress.pending_count == 0

    seen = []
    result = await client.evaluate_session(
        session, expectation_name=expected, on_progress=seen.append
    )
    assert len(seen) == 1 and result.scored_count == 1
    assert result.items[0].status is EvaluationItemStatus.SCORED
    with pytest.raises(NotFoundError):
        await client.get_review_session("no_such_session")
