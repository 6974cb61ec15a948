// The page's state machine, pure (no React, no network): what the user sees and may do.
//
//   chat:      idle -> streaming -> answered | failed          (a new question starts over)
//   feedback:  none -> sending -> received | failed -> sending ... (a new vote changes the old)
//
// Voting opens only once the stream's completion has arrived with its trace ID (and its
// feedback token, when the server issues them). Every action names the turn it belongs to,
// so that late answers of an earlier question never touch the current one.

/** An error as the page shows it: the Connect code and the server's message, never a stack. */
export interface ShownError {
  /** The Connect code name, such as `unavailable` or `permission_denied`. */
  code: string;
  message: string;
  /** The trace of the failed turn, when the server named it. */
  traceId?: string;
}

/** The terminal message of a streamed answer. */
export interface Completion {
  traceId: string;
  clientRequestId: string;
  response: string;
  /** Empty when the server has no token secret configured. */
  feedbackToken: string;
}

/** What the service answered to one vote. */
export interface VoteAck {
  assessmentId: string;
  /** The user's earlier judgment this vote superseded, if any. */
  supersededAssessmentId: string;
  /** Stored in MLflow already, or durably queued for it. */
  queued: boolean;
}

export type ChatPhase = "idle" | "streaming" | "answered" | "failed";
export type FeedbackPhase = "none" | "sending" | "received" | "failed";

export interface PageState {
  turn: number;
  chat: ChatPhase;
  question: string;
  /** The user the turn was asked as (the feedback token is bound to it). */
  user: string;
  answer: string;
  deltas: number;
  completion: Completion | null;
  chatError: ShownError | null;
  feedback: FeedbackPhase;
  /** The vote being sent (true = 👍), while `feedback` is `sending`. */
  pending: boolean | null;
  /** The last vote the service acknowledged. */
  vote: boolean | null;
  ack: VoteAck | null;
  feedbackError: ShownError | null;
}

export type Action =
  | { type: "ask"; turn: number; question: string; user: string }
  | { type: "delta"; turn: number; content: string }
  | { type: "complete"; turn: number; completion: Completion }
  | { type: "chatFailed"; turn: number; error: ShownError }
  | { type: "voteSent"; turn: number; value: boolean }
  | { type: "voteReceived"; turn: number; value: boolean; ack: VoteAck }
  | { type: "voteFailed"; turn: number; error: ShownError };

export const initialState: PageState = {
  turn: 0,
  chat: "idle",
  question: "",
  user: "",
  answer: "",
  deltas: 0,
  completion: null,
  chatError: null,
  feedback: "none",
  pending: null,
  vote: null,
  ack: null,
  feedbackError: null,
};

/** True when the feedback controls are enabled: the answer is complete with its trace ID. */
export function feedbackOpen(state: PageState): boolean {
  return state.chat === "answered" && state.completion !== null;
}

/** True when a click on 👍/👎 sends a vote now (none is in flight). */
export function canVote(state: PageState): boolean {
  return feedbackOpen(state) && state.feedback !== "sending";
}

export function reduce(state: PageState, action: Action): PageState {
  if (action.type === "ask") {
    return { ...initialState, turn: action.turn, chat: "streaming", question: action.question, user: action.user };
  }
  if (action.turn !== state.turn) {
    return state; // a late event of an earlier question
  }
  switch (action.type) {
    case "delta":
      if (state.chat !== "streaming") return state;
      return { ...state, answer: state.answer + action.content, deltas: state.deltas + 1 };
    case "complete":
      if (state.chat !== "streaming") return state;
      if (!action.completion.traceId) {
        return {
          ...state,
          chat: "failed",
          chatError: { code: "internal", message: "the answer arrived without its trace ID, so it cannot be rated" },
        };
      }
      return {
        ...state,
        chat: "answered",
        completion: action.completion,
        answer: action.completion.response || state.answer,
      };
    case "chatFailed":
      if (state.chat !== "streaming") return state;
      return { ...state, chat: "failed", chatError: action.error };
    case "voteSent":
      if (!canVote(state)) return state;
      return { ...state, feedback: "sending", pending: action.value, feedbackError: null };
    case "voteReceived":
      if (state.feedback !== "sending" || state.pending !== action.value) return state;
      return { ...state, feedback: "received", pending: null, vote: action.value, ack: action.ack };
    case "voteFailed":
      if (state.feedback !== "sending") return state;
      // The last acknowledged vote (if any) still stands.
      return { ...state, feedback: "failed", pending: null, feedbackError: action.error };
  }
}
