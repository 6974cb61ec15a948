// The page's calls to the feedback service, over any Connect transport (the page uses the
// Connect protocol on its own origin; the unit tests use an in-memory router).
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { ChatService } from "./gen/feedback/v1/chat_service_pb";
import { IngestionState, SourceType } from "./gen/feedback/v1/common_pb";
import { FeedbackService } from "./gen/feedback/v1/feedback_service_pb";
import type { Completion, ShownError, VoteAck } from "./state";

/** The feedback name of a thumbs up/down, as in MLflow's guides. */
export const FEEDBACK_NAME = "user_feedback";
/** Trailing (and initial) metadata key that names the turn's trace. */
const TRACE_ID_KEY = "x-mlflow-trace-id";
const CHAT_TIMEOUT_MS = 120_000;
const VOTE_TIMEOUT_MS = 20_000;
const MAX_MESSAGE_CHARS = 500;

export interface Api {
  chat: Client<typeof ChatService>;
  feedback: Client<typeof FeedbackService>;
}

export function createApi(transport: Transport): Api {
  return { chat: createClient(ChatService, transport), feedback: createClient(FeedbackService, transport) };
}

/** A random ID such as `web-3f2a…` (32 hex digits); works outside secure contexts too. */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export type ChatEvent = { kind: "delta"; content: string } | { kind: "completion"; completion: Completion };

export interface Question {
  message: string;
  userId: string;
  sessionId: string;
}

/**
 * Streams one answer: a `delta` event per piece as it arrives, then one `completion` once the
 * stream has ended successfully. A stream that ends without a completion is an error.
 */
export async function* streamChat(api: Api, question: Question, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
  let completion: Completion | null = null;
  for await (const message of api.chat.streamChat(question, { signal, timeoutMs: CHAT_TIMEOUT_MS })) {
    const event = message.event;
    if (completion !== null) {
      throw new ConnectError("the answer went on after its completion", Code.Internal);
    }
    if (event.case === "delta") {
      yield { kind: "delta", content: event.value.content };
    } else if (event.case === "completion") {
      const { traceId, clientRequestId, response, feedbackToken } = event.value;
      completion = { traceId, clientRequestId, response, feedbackToken };
    }
  }
  if (completion === null) {
    throw new ConnectError("the answer ended before its completion", Code.Internal);
  }
  yield { kind: "completion", completion };
}

export interface Vote {
  traceId: string;
  /** The user the turn was asked as; empty for an anonymous vote. */
  user: string;
  value: boolean;
  comment: string;
  /** The turn's feedback token; empty when the server issues none. */
  feedbackToken: string;
  /** The idempotency key of this click, the same for every retry of it. */
  requestId: string;
}

export interface RetryPolicy {
  attempts: number;
  /** Pause before each retry, in order (the last one repeats). */
  backoffMs: number[];
  sleep: (ms: number) => Promise<void>;
}

export const defaultRetry: RetryPolicy = {
  attempts: 3,
  backoffMs: [400, 1200],
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Transient failures, safe to retry because the request ID makes the write idempotent. */
export function retryable(error: ConnectError): boolean {
  if (error.code === Code.Unavailable || error.code === Code.DeadlineExceeded) return true;
  // fetch() itself failed (connection refused or reset): no answer reached the page.
  return error.code === Code.Unknown && error.cause instanceof TypeError;
}

/** Sends one vote (LogFeedback), retrying transient failures with the same request ID. */
export async function sendVote(api: Api, vote: Vote, retry: RetryPolicy = defaultRetry): Promise<VoteAck> {
  const headers: Record<string, string> = {};
  if (vote.feedbackToken) headers.authorization = `Bearer ${vote.feedbackToken}`;
  const request = {
    target: { ref: { case: "traceId" as const, value: vote.traceId } },
    name: FEEDBACK_NAME,
    value: { kind: { case: "boolean" as const, value: vote.value } },
    rationale: vote.comment,
    source: vote.user ? { type: SourceType.HUMAN, id: vote.user } : undefined,
    requestId: vote.requestId,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await api.feedback.logFeedback(request, { headers, timeoutMs: VOTE_TIMEOUT_MS });
      return {
        assessmentId: response.assessmentId,
        supersededAssessmentId: response.supersededAssessmentId,
        queued: response.state === IngestionState.QUEUED,
      };
    } catch (reason) {
      const error = ConnectError.from(reason);
      if (attempt >= retry.attempts || !retryable(error)) throw error;
      await retry.sleep(retry.backoffMs[Math.min(attempt, retry.backoffMs.length) - 1] ?? 0);
    }
  }
}

/** What the page shows of a failure: its Connect code and message (never a stack). */
export function describeError(reason: unknown): ShownError {
  const error = ConnectError.from(reason);
  let message = error.rawMessage.trim() || "no message";
  if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS)}…`;
  const shown: ShownError = { code: codeToString(error.code), message };
  const traceId = error.metadata.get(TRACE_ID_KEY);
  if (traceId) shown.traceId = traceId;
  return shown;
}
