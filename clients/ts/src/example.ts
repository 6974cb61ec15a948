// The feedback service's seed flow against $FEEDBACK_ADDR (default
// 127.0.0.1:50051): Chat + thumbs-down by trace ID, the vote changed, a batch
// with one bad item, the vote retracted; StreamChat + ratings by client request
// ID; ListFeedback on both; a malformed call's typed error.
// Prints KEY=VALUE lines for machine checks; exits 1 on any failure.
//
//   npm run example          (builds, then runs dist/example.js)
import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import {
  addrFromEnv,
  tlsFromEnv,
  bool,
  byClientRequestId,
  category,
  byTraceId,
  codeName,
  describe,
  FeedbackClient,
  type FeedbackValue,
  fieldViolations,
  formatValue,
  human,
  isServiceError,
  number,
  SourceType,
  sourceTypeToJSON,
  ingestionStateToJSON,
  type TraceRef,
} from "./index";

const USER_ID = "enduser_123";
const RATIONALE = "Missing details about MLflow's key features like Projects and Model Registry";

const randomHex = (chars: number) => randomBytes(chars / 2).toString("hex");

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

async function run(client: FeedbackClient): Promise<void> {
  console.log("LANG=ts");
  console.log(`ADDR=${addrFromEnv()}`);
  const session = `ts-session-${randomHex(8)}`;

  // 1. A unary chat turn, judged thumbs-down by its trace ID.
  const chat = await client.chat({ message: "What is MLflow?", userId: USER_ID, sessionId: session });
  console.log(`chat: ${JSON.stringify(chat.response)}`);
  console.log(`TRACE_ID=${chat.traceId}`);
  console.log(`CHAT_CLIENT_REQUEST_ID=${chat.clientRequestId}`);
  const feedback = await client.logFeedback({
    target: byTraceId(chat.traceId),
    name: "user_feedback",
    value: bool(false),
    rationale: RATIONALE,
    source: human(USER_ID),
    requestId: `ts-${randomHex(16)}`,
  });
  console.log(`feedback: thumbs-down stored as ${feedback.assessmentId} (${ingestionStateToJSON(feedback.state)})`);
  console.log(`FEEDBACK_ASSESSMENT_ID=${feedback.assessmentId}`);
  console.log(`FEEDBACK_STATE=${ingestionStateToJSON(feedback.state)}`);
  await changeBatchRetract(client, chat.traceId, feedback.assessmentId);

  // 2. A streamed chat turn with our own client request ID, rated by that ID.
  const clientRequestId = `ts-${randomHex(16)}`;
  let text = "";
  let deltas = 0;
  const completion = await client.streamChat(
    { message: "What is MLflow?", clientRequestId, userId: USER_ID, sessionId: session },
    (content) => {
      deltas += 1;
      text += content;
    },
  );
  console.log(`stream: ${deltas} deltas, ${JSON.stringify(completion.response)}`);
  console.log(`CLIENT_REQUEST_ID=${clientRequestId}`);
  console.log(`STREAM_TRACE_ID=${completion.traceId}`);
  console.log(`STREAM_DELTAS=${deltas}`);
  check(completion.clientRequestId === clientRequestId, `StreamChat: completion has client_request_id ${completion.clientRequestId}`);
  check(text === completion.response, "StreamChat: the deltas do not add up to the completion");
  const ratings = await client.logRatings({
    target: byClientRequestId(clientRequestId),
    ratings: { accuracy: 4, helpfulness: 5 },
    scaleMax: 5,
    rationale: "Accurate and helpful overview",
    source: human(USER_ID),
    requestId: `ts-${randomHex(16)}`,
  });
  for (const r of ratings.results) console.log(`rating: ${r.name} = ${r.value} stored as ${r.assessmentId}`);
  console.log(`RATINGS_ASSESSMENT_IDS=${ratings.results.map((r) => r.assessmentId).join(",")}`);
  console.log(`RATINGS_STATE=${ingestionStateToJSON(ratings.state)}`);

  // 3. Both traces list every judgment (stored or still queued).
  await checkList(client, byTraceId(chat.traceId), chat.traceId, { user_feedback: bool(false) });
  await checkList(client, byClientRequestId(clientRequestId), completion.traceId, {
    user_accuracy: number(0.8),
    user_helpfulness: number(1.0),
  });

  // 4. Errors are typed: a malformed trace ID is INVALID_ARGUMENT with a
  // google.rpc.BadRequest naming the field.
  let failure: unknown;
  try {
    await client.logThumbs(byTraceId("not-a-trace-id"), true, "", human(USER_ID));
  } catch (err) {
    failure = err;
  }
  check(failure !== undefined, "LogFeedback with a malformed trace ID succeeded");
  check(
    isServiceError(failure) && failure.code === status.INVALID_ARGUMENT,
    `LogFeedback with a malformed trace ID: ${describe(failure)}`,
  );
  const violations = fieldViolations(failure);
  check(violations.length > 0, `LogFeedback with a malformed trace ID: no google.rpc.BadRequest in ${describe(failure)}`);
  console.log(`error: ${describe(failure)}`);
  console.log(`ERROR_CODE=${isServiceError(failure) ? codeName(failure.code) : "?"}`);
  console.log(`ERROR_FIELDS=${violations.map((v) => v.field).join(",")}`);
}

// The user's vote changed (no request ID given: the client sets one), a batch
// with one bad item, then the changed vote retracted.
async function changeBatchRetract(client: FeedbackClient, traceId: string, downId: string): Promise<void> {
  const up = await client.logThumbs(byTraceId(traceId), true, "", human(USER_ID));
  check(up.supersededAssessmentId === downId, `changed vote supersedes ${up.supersededAssessmentId}, want ${downId}`);
  console.log(`CHANGED_ASSESSMENT_ID=${up.assessmentId}`);
  const results = await client.logBatch([
    { target: byTraceId(traceId), name: "interop_batch", value: category("clear"), source: human(USER_ID) },
    { target: byTraceId("tr-bad"), value: bool(true) },
  ]);
  const [good, bad] = results;
  check(results.length === 2 && good?.response !== undefined, `BatchLogFeedback: first item ${describe(good?.error)}`);
  check(bad?.error?.code === status.INVALID_ARGUMENT, `BatchLogFeedback: second item ${describe(bad?.error)}`);
  console.log(`BATCH_ASSESSMENT_ID=${good?.response?.assessmentId}`);
  console.log(`BATCH_ERROR=${describe(bad?.error)}`);
  const retracted = await client.retract(byTraceId(traceId), human(USER_ID));
  check(retracted.assessmentId === up.assessmentId, `retracted ${retracted.assessmentId}, want ${up.assessmentId}`);
  console.log(`RETRACTED_ASSESSMENT_ID=${retracted.assessmentId}`);
}

async function checkList(
  client: FeedbackClient,
  target: TraceRef,
  wantTraceId: string,
  want: Record<string, FeedbackValue>,
): Promise<void> {
  const list = await client.listFeedback(target);
  check(list.traceId === wantTraceId, `ListFeedback: trace_id ${list.traceId}, want ${wantTraceId}`);
  console.log(`list ${list.traceId}: ${list.assessments.length} assessments`);
  const found = new Set<string>();
  for (const a of list.assessments) {
    const source = a.source ?? { type: SourceType.SOURCE_TYPE_UNSPECIFIED, id: "" };
    console.log(
      `  ${a.assessmentId} ${a.name} = ${formatValue(a.feedback)} by ${sourceTypeToJSON(source.type)}:${source.id} (${ingestionStateToJSON(a.state)})`,
    );
    const expected = want[a.name];
    if (expected && source.id === USER_ID && source.type === SourceType.SOURCE_TYPE_HUMAN && same(a.feedback, expected)) {
      found.add(a.name);
    }
  }
  for (const [name, value] of Object.entries(want)) {
    check(found.has(name), `ListFeedback ${wantTraceId}: no ${name} = ${formatValue(value)} from ${USER_ID}`);
  }
  console.log(`LIST_OK=${list.traceId}`);
}

function same(got: FeedbackValue | undefined, want: FeedbackValue): boolean {
  const g = got?.kind;
  const w = want.kind;
  if (!g || !w || g.$case !== w.$case) return false;
  if (g.$case === "number" && w.$case === "number") return Math.abs(g.value - w.value) < 1e-9;
  return JSON.stringify(g.value) === JSON.stringify(w.value);
}

async function main(): Promise<number> {
  const client = new FeedbackClient(addrFromEnv(), { tls: tlsFromEnv() });
  try {
    await run(client);
    console.log("RESULT=OK");
    return 0;
  } catch (err) {
    console.error(`seedflow: FAILED: ${describe(err)}`);
    console.log("RESULT=FAILED");
    return 1;
  } finally {
    client.close();
  }
}

main().then((code) => {
  process.exitCode = code;
});
