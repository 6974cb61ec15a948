"""The pure parts of expert review: token F1, label values against schemas, leases."""

from __future__ import annotations

import pytest
from feedback_server.domain.model import JudgmentKind
from feedback_server.domain.review import (
    InputKind,
    LabelInputSpec,
    LabelSchemaSpec,
    LeaseTable,
    label_problem,
)
from feedback_server.domain.scorers import (
    LlmJudgeScorer,
    ScoringError,
    TokenF1Scorer,
    normalize_tokens,
    token_f1,
)


def schema(kind: InputKind, **input_fields: object) -> LabelSchemaSpec:
    return LabelSchemaSpec("q", JudgmentKind.FEEDBACK, LabelInputSpec(kind, **input_fields))  # type: ignore[arg-type]


def test_normalize_tokens_drops_case_punctuation_and_articles() -> None:
    assert normalize_tokens("The MLflow platform, an open-source tool!") == [
        "mlflow",
        "platform",
        "open",
        "source",
        "tool",
    ]


@pytest.mark.parametrize(
    ("answer", "expected", "f1"),
    [
        ("MLflow is open source.", "mlflow is open source", 1.0),
        ("", "", 1.0),
        ("anything", "", 0.0),
        ("cats", "dogs", 0.0),
        # 2 shared of 4 answer tokens and 2 expected tokens: P=0.5, R=1, F1=2/3.
        ("mlflow tracks experiments well", "mlflow tracks", 2 / 3),
    ],
)
def test_token_f1(answer: str, expected: str, f1: float) -> None:
    assert token_f1(answer, expected) == pytest.approx(f1)


async def test_token_f1_scorer_passes_at_the_threshold() -> None:
    scorer = TokenF1Scorer()
    score = await scorer.score(
        request="q", response="mlflow tracks", expected="mlflow tracks", threshold=0.5
    )
    assert score.value == 1.0 and score.passed
    score = await scorer.score(request="q", response="cats", expected="dogs", threshold=0.5)
    assert score.value == 0.0 and not score.passed and "0.000" in score.rationale


class _Judge:
    name = "fake"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    async def stream(self, turn: object):  # type: ignore[no-untyped-def]
        self.prompts.append(turn.message)  # type: ignore[attr-defined]
        yield self.reply

    async def aclose(self) -> None:
        return None


async def test_llm_judge_parses_yes_and_no() -> None:
    judge = _Judge("Yes.\nIt states the same facts.")
    score = await LlmJudgeScorer(judge).score(  # type: ignore[arg-type]
        request="What is MLflow?", response="A platform", expected="A platform", threshold=0.5
    )
    assert score.value == 1.0 and score.passed and score.rationale == "It states the same facts."
    assert "<expected_response>\nA platform\n</expected_response>" in judge.prompts[0]
    score = await LlmJudgeScorer(_Judge("no - wrong")).score(  # type: ignore[arg-type]
        request="q", response="a", expected="b", threshold=0.5
    )
    assert score.value == 0.0 and not score.passed
    with pytest.raises(ScoringError):
        await LlmJudgeScorer(_Judge("maybe")).score(  # type: ignore[arg-type]
            request="q", response="a", expected="b", threshold=0.5
        )


def test_label_values_against_schemas() -> None:
    categorical = schema(InputKind.CATEGORICAL, options=("Accurate", "Inaccurate"))
    assert label_problem(categorical, "Accurate") is None
    assert "not an option" in (label_problem(categorical, "Great") or "")
    assert label_problem(categorical, True) is not None
    multi = schema(InputKind.CATEGORICAL, options=("a", "b"), multi_select=True)
    assert label_problem(multi, ["a", "b"]) is None
    assert label_problem(multi, "a") is not None
    assert label_problem(multi, ["a", "a"]) is not None
    assert label_problem(multi, []) is not None
    numeric = schema(InputKind.NUMERIC, min_value=0.0, max_value=1.0)
    assert label_problem(numeric, 0.5) is None
    assert label_problem(numeric, 1.5) is not None
    assert label_problem(numeric, True) is not None  # a bool is not a number here
    pass_fail = schema(InputKind.PASS_FAIL, positive_label="Pass", negative_label="Fail")
    assert label_problem(pass_fail, False) is None
    assert label_problem(pass_fail, 0) is not None
    text = schema(InputKind.TEXT, max_length=5)
    assert label_problem(text, "short") is None
    assert label_problem(text, "too long") is not None
    assert label_problem(text, 3.0) is not None


def test_leases_are_exclusive_renewable_and_expire() -> None:
    now = [100.0]
    leases = LeaseTable(clock=lambda: now[0])
    assert leases.acquire("q", "t1", "alice", 60) is not None
    assert leases.acquire("q", "t1", "bob", 60) is None  # held by alice
    assert leases.acquire("q", "t1", "alice", 60) is not None  # renewed
    assert leases.held_by("q", "alice") == ["t1"]
    now[0] += 61
    assert leases.holder("q", "t1") is None  # expired
    assert leases.acquire("q", "t1", "bob", 60) is not None
    leases.release("q", "t1")
    assert leases.holder("q", "t1") is None
