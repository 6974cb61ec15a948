import { describe, expect, it } from "vitest";
import { canVote, feedbackOpen, initialState, reduce, type Action, type Completion, type PageState } from "./state";

const completion: Completion = {
  traceId: "tr-0123456789abcdef0123456789abcdef",
  clientRequestId: "req-0123456789abcdef",
  response: "You said: hi. Done.",
  feedbackToken: "token",
};
const ack = { assessmentId: "a-1", supersededAssessmentId: "", queued: false };

function run(...actions: Action[]): PageState {
  return actions.reduce(reduce, initialState);
}

const asked: Action = { type: "ask", turn: 1, question: "hi", user: "enduser_123" };
const answered: Action[] = [
  asked,
  { type: "delta", turn: 1, content: "You said: " },
  { type: "delta", turn: 1, content: "hi." },
  { type: "complete", turn: 1, completion },
];

describe("the page's state machine", () => {
  it("keeps the feedback closed before any answer and while the answer streams", () => {
    expect(feedbackOpen(initialState)).toBe(false);
    const streaming = run(asked, { type: "delta", turn: 1, content: "You said: " });
    expect(streaming.chat).toBe("streaming");
    expect(streaming.answer).toBe("You said: ");
    expect(feedbackOpen(streaming)).toBe(false);
    expect(canVote(streaming)).toBe(false);
    // A vote before the completion changes nothing.
    expect(reduce(streaming, { type: "voteSent", turn: 1, value: true })).toBe(streaming);
  });

  it("appends every delta, then opens the feedback with the completion", () => {
    const state = run(...answered);
    expect(state.deltas).toBe(2);
    expect(state.chat).toBe("answered");
    expect(state.completion).toEqual(completion);
    expect(state.answer).toBe(completion.response);
    expect(canVote(state)).toBe(true);
  });

  it("refuses a completion without a trace ID: nothing could be rated", () => {
    const state = run(asked, { type: "complete", turn: 1, completion: { ...completion, traceId: "" } });
    expect(state.chat).toBe("failed");
    expect(state.chatError?.code).toBe("internal");
    expect(feedbackOpen(state)).toBe(false);
  });

  it("keeps the feedback closed when the answer fails", () => {
    const error = { code: "unavailable", message: "MLflow is down", traceId: completion.traceId };
    const state = run(asked, { type: "delta", turn: 1, content: "x" }, { type: "chatFailed", turn: 1, error });
    expect(state.chat).toBe("failed");
    expect(state.chatError).toEqual(error);
    expect(feedbackOpen(state)).toBe(false);
  });

  it("sends one vote at a time, and a second vote changes the first", () => {
    const sending = run(...answered, { type: "voteSent", turn: 1, value: false });
    expect(sending.feedback).toBe("sending");
    expect(canVote(sending)).toBe(false);
    expect(feedbackOpen(sending)).toBe(true);
    expect(reduce(sending, { type: "voteSent", turn: 1, value: true })).toBe(sending);

    const down = reduce(sending, { type: "voteReceived", turn: 1, value: false, ack });
    expect(down.feedback).toBe("received");
    expect(down.vote).toBe(false);
    expect(canVote(down)).toBe(true);

    const changed = run(
      ...answered,
      { type: "voteSent", turn: 1, value: false },
      { type: "voteReceived", turn: 1, value: false, ack },
      { type: "voteSent", turn: 1, value: true },
      { type: "voteReceived", turn: 1, value: true, ack: { ...ack, assessmentId: "a-2", supersededAssessmentId: "a-1" } },
    );
    expect(changed.vote).toBe(true);
    expect(changed.ack?.supersededAssessmentId).toBe("a-1");
  });

  it("keeps the last acknowledged vote when a change fails", () => {
    const error = { code: "permission_denied", message: "not your trace" };
    const state = run(
      ...answered,
      { type: "voteSent", turn: 1, value: false },
      { type: "voteReceived", turn: 1, value: false, ack },
      { type: "voteSent", turn: 1, value: true },
      { type: "voteFailed", turn: 1, error },
    );
    expect(state.feedback).toBe("failed");
    expect(state.vote).toBe(false);
    expect(state.feedbackError).toEqual(error);
    expect(canVote(state)).toBe(true);
  });

  it("ignores late events of an earlier question", () => {
    const second = run(...answered, { type: "ask", turn: 2, question: "again", user: "enduser_123" });
    expect(second.completion).toBeNull();
    expect(feedbackOpen(second)).toBe(false);
    for (const late of [
      { type: "delta", turn: 1, content: "stale" },
      { type: "complete", turn: 1, completion },
      { type: "voteReceived", turn: 1, value: true, ack },
    ] satisfies Action[]) {
      expect(reduce(second, late)).toBe(second);
    }
  });

  it("ignores deltas after the completion", () => {
    const state = run(...answered);
    expect(reduce(state, { type: "delta", turn: 1, content: "more" })).toBe(state);
  });
});
