"""The label-schema / review-queue REST API and its conversions."""

from __future__ import annotations

from functools import partial
from typing import Any

from mlflow.utils.proto_json_utils import message_to_json

from ..domain.model import JudgmentKind
from ..domain.review import (
    InputKind,
    LabelInputSpec,
    LabelSchemaSpec,
    ReviewItemRecord,
    ReviewQueueRecord,
    TraceContent,
    label_input,
)
from ..domain.review import ItemStatus as ReviewItemStatus
from ..domain.review.paging import paged
from ..errors import NotFound
from .calls import mlflow_call
from .core import GatewayCore


class ReviewApi(GatewayCore):
    # mlflow-tracing's TracingClient label-schema / review-queue helpers import entities
    # from `mlflow.genai`, which only the full mlflow package has. These methods call the
    # same REST endpoints with the request messages mlflow-tracing ships
    # (`mlflow.protos.label_schemas_pb2`, `mlflow.protos.review_queues_pb2`).

    async def _rest(self, api: Any, request: Any, path: str, what: tuple[str, str]) -> Any:
        """One label-schema / review-queue REST call in the I/O pool; MLflow errors become
        domain errors (`GatewayCore._call`): not found -> NotFound(*what), already exists
        -> AlreadyExists(*what), invalid -> InvalidArgument, anything else -> Unavailable."""
        from mlflow.utils.rest_utils import (
            _V3_LABEL_SCHEMAS_REST_API_PATH_PREFIX,
            _V3_REVIEW_QUEUES_REST_API_PATH_PREFIX,
        )

        prefix = (
            _V3_LABEL_SCHEMAS_REST_API_PATH_PREFIX
            if path.startswith("label-schemas/")
            else _V3_REVIEW_QUEUES_REST_API_PATH_PREFIX
        )
        endpoint = f"{prefix}/{path.split('/', 1)[1]}"
        return await self._call(
            lambda: self._client.store._call_endpoint(
                api, message_to_json(request), endpoint=endpoint
            ),
            what,
        )

    async def create_label_schema(self, spec: LabelSchemaSpec) -> LabelSchemaSpec:
        from mlflow.protos import label_schemas_pb2 as ls

        experiment_id = await self.experiment_id()
        request = ls.CreateLabelSchema(
            experiment_id=experiment_id,
            name=spec.name,
            type=ls.EXPECTATION if spec.kind is JudgmentKind.EXPECTATION else ls.FEEDBACK,
            input=_schema_input_to_proto(spec.input),
            enable_comment=spec.enable_comment,
        )
        if spec.instructions:
            request.instruction = spec.instructions
        what = ("label_schema", spec.name)
        response = await self._rest(ls.CreateLabelSchema, request, "label-schemas/create", what)
        return _schema_from_proto(response.label_schema)

    async def get_label_schema(self, name: str) -> LabelSchemaSpec | None:
        from mlflow.protos import label_schemas_pb2 as ls

        experiment_id = await self.experiment_id()
        request = ls.GetLabelSchemaByName(experiment_id=experiment_id, name=name)
        what = ("label_schema", name)
        try:
            response = await self._rest(
                ls.GetLabelSchemaByName, request, "label-schemas/get-by-name", what
            )
        except NotFound:
            return None
        return _schema_from_proto(response.label_schema)

    async def list_label_schemas(
        self, page_size: int, page_token: str | None
    ) -> tuple[list[LabelSchemaSpec], str]:
        from mlflow.protos import label_schemas_pb2 as ls

        experiment_id = await self.experiment_id()
        request = ls.ListLabelSchemas(experiment_id=experiment_id, max_results=page_size)
        if page_token:
            request.page_token = page_token
        what = ("page_token", "")  # the only caller input MLflow can refuse here
        response = await self._rest(ls.ListLabelSchemas, request, "label-schemas/list", what)
        return [_schema_from_proto(s) for s in response.label_schemas], response.next_page_token

    async def delete_label_schema(self, schema_id: str) -> None:
        from mlflow.protos import label_schemas_pb2 as ls

        request = ls.DeleteLabelSchema(schema_id=schema_id)
        what = ("label_schema", schema_id)
        await self._rest(ls.DeleteLabelSchema, request, "label-schemas/delete", what)

    async def create_review_queue(
        self, name: str, users: list[str], schema_ids: list[str]
    ) -> ReviewQueueRecord:
        from mlflow.protos import review_queues_pb2 as rq

        experiment_id = await self.experiment_id()
        request = rq.CreateReviewQueue(
            experiment_id=experiment_id,
            name=name,
            queue_type=rq.CUSTOM,
            users=users,
            schema_ids=schema_ids,
        )
        what = ("review_session", name)
        response = await self._rest(rq.CreateReviewQueue, request, "review-queues/create", what)
        return _queue_from_proto(response.review_queue)

    async def get_review_queue(self, name: str) -> ReviewQueueRecord | None:
        from mlflow.protos import review_queues_pb2 as rq

        experiment_id = await self.experiment_id()
        request = rq.GetReviewQueueByName(experiment_id=experiment_id, name=name)
        what = ("review_session", name)
        try:
            response = await self._rest(
                rq.GetReviewQueueByName, request, "review-queues/get-by-name", what
            )
        except NotFound:
            return None
        return _queue_from_proto(response.review_queue)

    async def list_review_queues(
        self,
        user: str | None,
        page_size: int,
        page_token: str | None,
        *,
        item_id: str | None = None,
    ) -> tuple[list[ReviewQueueRecord], str]:
        """Review queues, newest first: all, those of `user`, or those holding `item_id`."""
        from mlflow.protos import review_queues_pb2 as rq

        experiment_id = await self.experiment_id()
        request = rq.ListReviewQueues(experiment_id=experiment_id, max_results=page_size)
        if user:
            request.user = user
        if item_id:
            request.item_id = item_id
        if page_token:
            request.page_token = page_token
        what = ("page_token", "")  # the only caller input MLflow can refuse here
        response = await self._rest(rq.ListReviewQueues, request, "review-queues/list", what)
        return [_queue_from_proto(q) for q in response.review_queues], response.next_page_token

    async def add_review_items(self, queue_id: str, trace_ids: list[str]) -> list[ReviewItemRecord]:
        """Adds traces to a queue (idempotent: items already there keep their status)."""
        from mlflow.protos import review_queues_pb2 as rq

        request = rq.AddItemsToReviewQueue(
            queue_id=queue_id, item_type=rq.TRACE, item_ids=trace_ids
        )
        what = ("review_session", queue_id)
        try:
            response = await self._rest(
                rq.AddItemsToReviewQueue, request, "review-queues/items/add", what
            )
        except NotFound:
            # MLflow refuses the whole batch when a trace is not in the experiment: name it.
            experiment_id = await self.experiment_id()
            for trace_id in trace_ids:
                if await self._trace_experiment(trace_id) != experiment_id:
                    raise NotFound(
                        "trace", trace_id, "trace not found in the service's MLflow experiment"
                    ) from None
            raise
        return [_item_from_proto(i) for i in response.items]

    async def _trace_experiment(self, trace_id: str) -> str | None:
        try:
            info = await self._call(
                lambda: self._client.get_trace_info(trace_id), ("trace", trace_id)
            )
        except NotFound:
            return None
        return str(info.experiment_id)

    async def list_review_items(
        self, queue_id: str, status: ReviewItemStatus | None, page_size: int, page_token: str | None
    ) -> tuple[list[ReviewItemRecord], str]:
        """A queue's items, newest first, optionally of one status."""
        from mlflow.protos import review_queues_pb2 as rq

        request = rq.ListReviewQueueItems(queue_id=queue_id, max_results=page_size)
        if status is not None:
            request.status = _status_to_proto(status)
        if page_token:
            request.page_token = page_token
        what = ("review_session", queue_id)
        response = await self._rest(
            rq.ListReviewQueueItems, request, "review-queues/items/list", what
        )
        return [_item_from_proto(i) for i in response.items], response.next_page_token

    async def review_item(self, queue_id: str, trace_id: str) -> ReviewItemRecord | None:
        """One item of a queue with its current status, or None when the trace is not in
        the queue. (MLflow has no single-item read: membership comes from the queues that
        hold the item, then an add, which is a no-op returning the existing item.)"""
        holding = partial(self.list_review_queues, None, item_id=trace_id)
        async for queue in paged(holding):
            if queue.queue_id == queue_id:
                items = await self.add_review_items(queue_id, [trace_id])
                return items[0] if items else None
        return None

    async def set_review_item_status(
        self, queue_id: str, trace_id: str, status: ReviewItemStatus, completed_by: str
    ) -> ReviewItemRecord:
        from mlflow.protos import review_queues_pb2 as rq

        request = rq.SetReviewQueueItemStatus(
            queue_id=queue_id, item_id=trace_id, status=_status_to_proto(status)
        )
        if status is not ReviewItemStatus.PENDING:
            request.completed_by = completed_by
        what = ("review_item", trace_id)
        response = await self._rest(
            rq.SetReviewQueueItemStatus, request, "review-queues/items/set-status", what
        )
        return _item_from_proto(response.item)

    async def trace_content(self, trace_id: str) -> TraceContent | None:
        """The trace's root inputs and outputs (what a reviewer reads), or None."""

        def call() -> TraceContent:
            trace = mlflow_call(lambda: self._client.get_trace(trace_id), ("trace", trace_id))
            info = trace.info
            root = next((s for s in trace.data.spans if s.parent_id is None), None)
            return TraceContent(
                trace_id=trace_id,
                inputs=root.inputs if root is not None else None,
                outputs=root.outputs if root is not None else None,
                request_preview=str(info.request_preview or ""),
                response_preview=str(info.response_preview or ""),
                timestamp_ms=int(info.request_time or 0),
                client_request_id=str(info.client_request_id or ""),
            )

        try:
            return await self._run(call)
        except NotFound:
            return None


# --- review: conversions of MLflow's label schema and review queue messages ----------------


def _status_to_proto(status: ReviewItemStatus) -> Any:
    from mlflow.protos import review_queues_pb2 as rq

    return rq.ReviewStatus.Value(status.name)


def _status_from_proto(number: int) -> ReviewItemStatus:
    """review_queues_pb2.ReviewStatus names match ItemStatus; anything else is PENDING."""
    from mlflow.protos import review_queues_pb2 as rq

    by_number = {int(rq.ReviewStatus.Value(s.name)): s for s in ReviewItemStatus}
    return by_number.get(number, ReviewItemStatus.PENDING)


def _schema_input_to_proto(spec: LabelInputSpec) -> Any:
    from mlflow.protos import label_schemas_pb2 as ls

    inputs = {
        InputKind.PASS_FAIL: ls.InputPassFail,
        InputKind.CATEGORICAL: ls.InputCategorical,
        InputKind.NUMERIC: ls.InputNumeric,
        InputKind.TEXT: ls.InputText,
    }
    return ls.LabelSchemaInput(**{spec.kind.value: inputs[spec.kind](**spec.fields())})


def _schema_from_proto(p: Any) -> LabelSchemaSpec:
    from mlflow.protos import label_schemas_pb2 as ls

    i, n, t = p.input, p.input.numeric, p.input.text
    spec = label_input(
        i.WhichOneof("input"),
        positive_label=i.pass_fail.positive_label,
        negative_label=i.pass_fail.negative_label,
        options=i.categorical.options,
        multi_select=i.categorical.multi_select,
        min_value=n.min_value if n.HasField("min_value") else None,
        max_value=n.max_value if n.HasField("max_value") else None,
        max_length=t.max_length if t.HasField("max_length") else None,
    )
    return LabelSchemaSpec(
        name=p.name,
        kind=JudgmentKind.EXPECTATION if p.type == ls.EXPECTATION else JudgmentKind.FEEDBACK,
        input=spec or LabelInputSpec(InputKind.TEXT),
        instructions=p.instruction,
        enable_comment=bool(p.enable_comment),
        schema_id=p.schema_id,
        builtin=bool(p.is_default),
        create_time_ms=int(p.created_at),
        update_time_ms=int(p.last_updated_at),
    )


def _queue_from_proto(p: Any) -> ReviewQueueRecord:
    from mlflow.protos import review_queues_pb2 as rq

    return ReviewQueueRecord(
        queue_id=p.queue_id,
        name=p.name,
        users=tuple(p.users),
        schema_ids=tuple(p.schema_ids),
        custom=p.queue_type != rq.USER,  # USER: MLflow's per-user queues
        create_time_ms=int(p.creation_time_ms),
        update_time_ms=int(p.last_update_time_ms),
    )


def _item_from_proto(p: Any) -> ReviewItemRecord:
    return ReviewItemRecord(
        trace_id=p.item_id,
        status=_status_from_proto(p.status),
        completed_by=p.completed_by,
    )
