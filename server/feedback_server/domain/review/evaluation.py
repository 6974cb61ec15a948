"""EvaluateSession: a session's labeled requests answered again and scored."""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from ...backends.base import ChatTurn
from ...errors import NotFound, ServiceError
from ..feedback import assessment_id_for
from ..model import JsonValue, Judgment, JudgmentKind, StoredAssessment, TraceTarget
from ..scorers import JudgeFactory, LlmJudgeScorer, Scorer, ScoringError, TokenF1Scorer
from ..validation import MAX_MESSAGE_CHARS
from .errors import JudgeNotConfigured
from .paging import collect
from .ports import ChatRunner, FeedbackWriter, ReviewStore
from .records import ItemStatus, Session
from .text import as_text, clip, content_text

_EVAL_CONCURRENCY = 4


class ScorerKind(enum.StrEnum):
    TOKEN_F1 = "token_f1"
    LLM_JUDGE = "llm_judge"


class EvalStatus(enum.StrEnum):
    SCORED = "scored"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class EvalItem:
    source_trace_id: str
    status: EvalStatus
    trace_id: str = ""
    request: str = ""
    response: str = ""
    expected: str = ""
    score: float = 0.0
    passed: bool = False
    rationale: str = ""
    assessment_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class EvalProgress:
    done: int
    total: int
    item: EvalItem


@dataclass(frozen=True)
class EvalResult:
    items: list[EvalItem]
    scored: int
    passed: int
    skipped: int
    failed: int
    pass_rate: float
    scorer: ScorerKind
    threshold: float
    feedback_name: str


@dataclass(frozen=True)
class EvalOptions:
    """What EvaluateSession was asked for (checked by the servicer)."""

    scorer: ScorerKind
    threshold: float
    expectation_name: str
    feedback_name: str
    max_items: int


class SessionEvaluator:
    """EvaluateSession: answers the requests of a session's complete items again with
    the chat backend, scores each new answer against the expert's expected response and
    stores the score as feedback on the new trace."""

    def __init__(
        self,
        store: ReviewStore,
        feedback: FeedbackWriter,
        chat: ChatRunner,
        judge_factory: JudgeFactory | None,
    ) -> None:
        self._store = store
        self._feedback = feedback
        self._chat = chat
        self._judge_factory = judge_factory

    async def run(
        self, session: Session, options: EvalOptions
    ) -> AsyncGenerator[EvalProgress | EvalResult, None]:
        """Progress per item (in completion order), then the result (session order)."""
        scorer = self._scorer(options.scorer)
        try:
            complete = partial(
                self._store.list_review_items, session.queue.queue_id, ItemStatus.COMPLETE
            )
            items = await collect(complete, limit=options.max_items)
            run_id = uuid.uuid4().hex
            limit = asyncio.Semaphore(_EVAL_CONCURRENCY)

            async def one(trace_id: str) -> EvalItem:
                async with limit:
                    return await self._evaluate_item(session, trace_id, run_id, scorer, options)

            tasks = [asyncio.ensure_future(one(i.trace_id)) for i in items]
            results: dict[str, EvalItem] = {}
            try:
                for done, next_result in enumerate(asyncio.as_completed(tasks), start=1):
                    result = await next_result
                    results[result.source_trace_id] = result
                    yield EvalProgress(done, len(tasks), result)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            ordered = [results[i.trace_id] for i in items]
            scored = [r for r in ordered if r.status is EvalStatus.SCORED]
            passed = sum(r.passed for r in scored)
            yield EvalResult(
                items=ordered,
                scored=len(scored),
                passed=passed,
                skipped=sum(r.status is EvalStatus.SKIPPED for r in ordered),
                failed=sum(r.status is EvalStatus.FAILED for r in ordered),
                pass_rate=passed / len(scored) if scored else 0.0,
                scorer=options.scorer,
                threshold=options.threshold,
                feedback_name=options.feedback_name,
            )
        finally:
            await scorer.aclose()

    def _scorer(self, kind: ScorerKind) -> Scorer:
        if kind is ScorerKind.TOKEN_F1:
            return TokenF1Scorer()
        if self._judge_factory is None:
            raise JudgeNotConfigured(
                "no LLM judge is configured: set FEEDBACK_OPENAI_BASE_URL and FEEDBACK_OPENAI_MODEL"
            )
        return LlmJudgeScorer(self._judge_factory())

    async def _evaluate_item(
        self,
        session: Session,
        trace_id: str,
        run_id: str,
        scorer: Scorer,
        options: EvalOptions,
    ) -> EvalItem:
        expectation_name, feedback_name = options.expectation_name, options.feedback_name
        try:
            _, assessments = await self._feedback.list_feedback(TraceTarget(trace_id=trace_id))
        except NotFound:
            return EvalItem(trace_id, EvalStatus.FAILED, error="the trace no longer exists")
        expected = _latest_expectation(assessments, expectation_name)
        if expected is None:
            return EvalItem(
                trace_id, EvalStatus.SKIPPED, error=f"no {expectation_name!r} expectation"
            )
        expected_text = clip(as_text(expected))
        content = await self._store.trace_content(trace_id)
        request = content_text(content.inputs, content.request_preview) if content else ""
        base = EvalItem(trace_id, EvalStatus.FAILED, request=request, expected=expected_text)
        if not request.strip():
            return _with(base, error="the trace has no request to answer again")
        turn = ChatTurn(
            message=request[:MAX_MESSAGE_CHARS],
            client_request_id=f"eval-{uuid.uuid4().hex[:16]}",
            session_id=f"eval-{run_id}",
            metadata={
                "feedback.eval.run": run_id,
                "feedback.eval.review_session": session.name,
                "feedback.eval.source_trace_id": trace_id,
            },
        )
        try:
            active = await self._chat.begin(turn, rpc="EvaluateSession", admission_timeout_s=30.0)
        except ServiceError as exc:
            return _with(base, error=exc.message)
        try:
            answer = await active.run()
        except ServiceError as exc:
            return _with(base, trace_id=active.trace_id, error=exc.message)
        base = _with(base, trace_id=answer.trace_id, response=clip(answer.response))
        try:
            score = await scorer.score(
                request=request,
                response=answer.response,
                expected=expected_text,
                threshold=options.threshold,
            )
        except ScoringError as exc:
            return _with(base, error=str(exc))
        except ServiceError as exc:
            return _with(base, error=exc.message)
        target = TraceTarget(trace_id=answer.trace_id)
        judgment = Judgment(
            assessment_id=assessment_id_for("EvaluateSession", run_id, target, feedback_name),
            request_id=run_id,
            kind=JudgmentKind.FEEDBACK,
            target=target,
            name=feedback_name,
            value=score.value,
            source_type=scorer.source_type,
            source_id=scorer.name,
            rationale=score.rationale,
            metadata={
                "passed": "true" if score.passed else "false",
                "threshold": f"{options.threshold:g}",
                "expectation_name": expectation_name,
                "review_session": session.name,
                "source_trace_id": trace_id,
                "eval_run": run_id,
            },
            created_ms=int(time.time() * 1000),
        )
        accepted = await self._feedback.log_judgments([judgment])
        return _with(
            base,
            status=EvalStatus.SCORED,
            score=score.value,
            passed=score.passed,
            rationale=score.rationale,
            assessment_id=accepted.assessment_ids[0],
        )


def _with(item: EvalItem, **changes: Any) -> EvalItem:
    return replace(item, **changes)


def _latest_expectation(assessments: Iterable[StoredAssessment], name: str) -> JsonValue | None:
    found = [
        a
        for a in assessments
        if a.kind is JudgmentKind.EXPECTATION and a.name == name and a.valid and a.value is not None
    ]
    if not found:
        return None
    return max(found, key=lambda a: a.create_time_ms).value
