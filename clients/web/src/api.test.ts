// The page's calls against an in-memory Connect server (@connectrpc/connect's router transport:
// the real Connect protocol with JSON, as the page speaks it, without a network).
import { Code, ConnectError, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { describeError, retryable, sendVote, streamChat, type Api, type ChatEvent, type RetryPolicy, type Vote, createApi } from "./api";
import { ChatService, type StreamChatRequest } from "./gen/feedback/v1/chat_service_pb";
import { IngestionState, SourceType } from "./gen/feedback/v1/common_pb";
import { FeedbackService, type LogFeedbackRequest } from "./gen/feedback/v1/feedback_service_pb";

const TRACE = "tr-0123456789abcdef0123456789abcdef";

interface Seen {
  chat: StreamChatRequest[];
  votes: { request: LogFeedbackRequest; authorization: string | null }[];
}

/** A server whose LogFeedback fails with `failures` (in order) before it succeeds. */
function server(options: { deltas?: string[]; complete?: boolean; chatError?: ConnectError; failures?: ConnectError[] }) {
  const seen: Seen = { chat: [], votes: [] };
  const failures = [...(options.failures ?? [])];
  const transport = createRouterTransport(
    ({ service }) => {
      service(ChatService, {
        async *streamChat(request: StreamChatRequest) {
          seen.chat.push(request);
          for (const content of options.deltas ?? []) yield { event: { case: "delta", value: { content } } };
          if (options.chatError) throw options.chatError;
          if (options.complete ?? true) {
            yield {
              event: {
                case: "completion",
                value: { traceId: TRACE, clientRequestId: "req-1", response: (options.deltas ?? []).join(""), feedbackToken: "tok" },
              },
            };
          }
        },
      });
      service(FeedbackService, {
        logFeedback(request: LogFeedbackRequest, context: HandlerContext) {
          seen.votes.push({ request, authorization: context.requestHeader.get("authorization") });
          const failure = failures.shift();
          if (failure) throw failure;
          return { assessmentId: `a-${seen.votes.length}`, traceId: TRACE, state: IngestionState.QUEUED, requestId: request.requestId };
        },
      });
    },
    { transport: { useBinaryFormat: false } },
  );
  return { api: createApi(transport), seen };
}

async function collect(api: Api): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of streamChat(api, { message: "hi", userId: "enduser_123", sessionId: "web-1" })) events.push(event);
  return events;
}

const vote: Vote = { traceId: TRACE, user: "enduser_123", value: false, comment: "too vague", feedbackToken: "tok", requestId: "web-42" };
const noPause: RetryPolicy & { pauses: number[] } = {
  attempts: 3,
  backoffMs: [400, 1200],
  pauses: [],
  sleep(ms) {
    this.pauses.push(ms);
    return Promise.resolve();
  },
};

describe("streamChat", () => {
  it("yields every delta in order, then the completion, and sends the user and session", async () => {
    const { api, seen } = server({ deltas: ["You ", "said: ", "hi"] });
    const events = await collect(api);
    expect(events.map((e) => e.kind)).toEqual(["delta", "delta", "delta", "completion"]);
    expect(events.at(-1)).toEqual({
      kind: "completion",
      completion: { traceId: TRACE, clientRequestId: "req-1", response: "You said: hi", feedbackToken: "tok" },
    });
    expect(seen.chat[0].userId).toBe("enduser_123");
    expect(seen.chat[0].sessionId).toBe("web-1");
  });

  it("fails a stream that ends without its completion", async () => {
    const { api } = server({ deltas: ["a"], complete: false });
    await expect(collect(api)).rejects.toMatchObject({ code: Code.Internal });
  });

  it("fails with the server's code and the trace ID of the failed turn", async () => {
    const chatError = new ConnectError("the model is unreachable", Code.Unavailable, { "x-mlflow-trace-id": TRACE });
    const { api } = server({ deltas: ["a"], chatError });
    const error = await collect(api).catch((reason: unknown) => reason);
    expect(describeError(error)).toEqual({ code: "unavailable", message: "the model is unreachable", traceId: TRACE });
  });
});

describe("sendVote", () => {
  it("sends a user_feedback boolean with the comment, the user, the request ID and the token", async () => {
    const { api, seen } = server({});
    const ack = await sendVote(api, vote, noPause);
    expect(ack).toEqual({ assessmentId: "a-1", supersededAssessmentId: "", queued: true });
    const [{ request, authorization }] = seen.votes;
    expect(authorization).toBe("Bearer tok");
    expect(request.target?.ref).toEqual({ case: "traceId", value: TRACE });
    expect(request.name).toBe("user_feedback");
    expect(request.value?.kind).toEqual({ case: "boolean", value: false });
    expect(request.rationale).toBe("too vague");
    expect(request.source?.type).toBe(SourceType.HUMAN);
    expect(request.source?.id).toBe("enduser_123");
    expect(request.requestId).toBe("web-42");
  });

  it("sends no authorization header when the server issued no token", async () => {
    const { api, seen } = server({});
    await sendVote(api, { ...vote, feedbackToken: "" }, noPause);
    expect(seen.votes[0].authorization).toBeNull();
  });

  it("retries a transient failure with the same request ID", async () => {
    const { api, seen } = server({ failures: [new ConnectError("MLflow is down", Code.Unavailable)] });
    const retry = { ...noPause, pauses: [] as number[] };
    const ack = await sendVote(api, vote, retry);
    expect(ack.assessmentId).toBe("a-2");
    expect(seen.votes.map((v) => v.request.requestId)).toEqual(["web-42", "web-42"]);
    expect(retry.pauses).toEqual([400]);
  });

  it("gives up after the last attempt", async () => {
    const down = () => new ConnectError("MLflow is down", Code.Unavailable);
    const { api, seen } = server({ failures: [down(), down(), down()] });
    const retry = { ...noPause, pauses: [] as number[] };
    await expect(sendVote(api, vote, retry)).rejects.toMatchObject({ code: Code.Unavailable });
    expect(seen.votes).toHaveLength(3);
    expect(retry.pauses).toEqual([400, 1200]);
  });

  it("does not retry a refusal", async () => {
    const { api, seen } = server({ failures: [new ConnectError("another trace", Code.PermissionDenied)] });
    const error = await sendVote(api, vote, noPause).catch((reason: unknown) => reason);
    expect(seen.votes).toHaveLength(1);
    expect(describeError(error)).toEqual({ code: "permission_denied", message: "another trace" });
  });
});

describe("retryable and describeError", () => {
  it("treats a failed fetch as transient and shows its message, not its stack", () => {
    const failed = ConnectError.from(new TypeError("Failed to fetch"));
    expect(retryable(failed)).toBe(true);
    expect(retryable(new ConnectError("bad", Code.InvalidArgument))).toBe(false);
    expect(describeError(new TypeError("Failed to fetch"))).toEqual({ code: "unknown", message: "Failed to fetch" });
  });
});
