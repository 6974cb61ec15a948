import { useEffect, useReducer, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { describeError, newId, sendVote, streamChat, type Api } from "./api";
import { canVote, feedbackOpen, initialState, reduce, type PageState, type ShownError } from "./state";

const DEFAULT_USER = "enduser_123";
const MAX_QUESTION_CHARS = 32_768;
const MAX_COMMENT_CHARS = 8_192;
const VOTES = [
  { value: true, id: "vote-up", emoji: "👍", label: "Helpful" },
  { value: false, id: "vote-down", emoji: "👎", label: "Not helpful" },
];

function ErrorLine({ id, what, error }: { id: string; what: string; error: ShownError }) {
  return (
    <p id={id} className="error" role="alert">
      <strong>{what}</strong> <code className="code">{error.code}</code> {error.message}
      {error.traceId && (
        <>
          {" "}
          (trace <code>{error.traceId}</code>)
        </>
      )}
    </p>
  );
}

function feedbackStatus(state: PageState): string {
  if (state.feedback === "sending") {
    return state.pending ? "Sending 👍…" : "Sending 👎…";
  }
  if (state.vote === null) return "";
  const vote = state.vote ? "👍 helpful" : "👎 not helpful";
  const who = state.user ? ` from ${state.user}` : "";
  const replaced = state.ack?.supersededAssessmentId ? " It replaces your earlier vote." : "";
  const queued = state.ack?.queued ? " It will show in MLflow shortly." : "";
  const again = state.feedback === "failed" ? " Your last change was not saved." : "";
  return `Feedback received${who}: ${vote}.${replaced}${queued}${again} Thank you!`;
}

export function App({ api }: { api: Api }) {
  const [state, dispatch] = useReducer(reduce, initialState);
  const [user, setUser] = useState(DEFAULT_USER);
  const [question, setQuestion] = useState("");
  const [comment, setComment] = useState("");
  const [session] = useState(() => newId("web"));
  const turns = useRef(0);
  const stream = useRef<AbortController | null>(null);

  useEffect(() => () => stream.current?.abort(), []);

  const streaming = state.chat === "streaming";
  const open = feedbackOpen(state);

  async function ask(event?: FormEvent) {
    event?.preventDefault();
    const message = question.trim();
    if (!message || streaming) return;
    const turn = ++turns.current;
    const userId = user.trim();
    stream.current?.abort();
    const controller = new AbortController();
    stream.current = controller;
    setComment("");
    setQuestion("");
    dispatch({ type: "ask", turn, question: message, user: userId });
    try {
      for await (const chatEvent of streamChat(api, { message, userId, sessionId: session }, controller.signal)) {
        if (chatEvent.kind === "delta") dispatch({ type: "delta", turn, content: chatEvent.content });
        else dispatch({ type: "complete", turn, completion: chatEvent.completion });
      }
    } catch (reason) {
      if (controller.signal.aborted) return;
      dispatch({ type: "chatFailed", turn, error: describeError(reason) });
      setQuestion((current) => current || message); // to ask again without retyping
    }
  }

  async function vote(value: boolean) {
    if (!canVote(state) || state.completion === null) return;
    const { turn, user: turnUser, completion } = state;
    dispatch({ type: "voteSent", turn, value });
    try {
      const ack = await sendVote(api, {
        traceId: completion.traceId,
        user: turnUser,
        value,
        comment: comment.trim(),
        feedbackToken: completion.feedbackToken,
        requestId: newId("web"),
      });
      dispatch({ type: "voteReceived", turn, value, ack });
    } catch (reason) {
      dispatch({ type: "voteFailed", turn, error: describeError(reason) });
    }
  }

  function onQuestionKey(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void ask();
    }
  }

  const busy = state.feedback === "sending";
  const status = feedbackStatus(state);

  return (
    <main className="page" data-chat={state.chat} data-feedback={state.feedback}>
      <header>
        <h1>Ask the assistant</h1>
        <p className="lede">Every answer is traced in MLflow; your 👍 or 👎 is stored on its trace.</p>
      </header>

      <form className="card ask" onSubmit={ask} aria-describedby="ask-hint">
        <div className="field user-field">
          <label htmlFor="user">User</label>
          <input
            id="user"
            name="user"
            value={user}
            maxLength={250}
            autoComplete="username"
            spellCheck={false}
            onChange={(e) => setUser(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="question">Your question</label>
          <textarea
            id="question"
            name="question"
            rows={3}
            value={question}
            maxLength={MAX_QUESTION_CHARS}
            placeholder="Ask a question..."
            onChange={(e) => setQuestion(e.target.value)}
            onKeyDown={onQuestionKey}
          />
        </div>
        <div className="row">
          <p id="ask-hint" className="hint">
            Enter sends, Shift+Enter starts a new line. The question and its feedback are recorded as
            the user above.
          </p>
          <button id="ask" type="submit" className="primary" disabled={streaming || !question.trim()}>
            {streaming ? "Answering…" : "Ask"}
          </button>
        </div>
      </form>

      <section className="card answer" aria-labelledby="answer-heading">
        <h2 id="answer-heading">Answer</h2>
        {state.question && (
          <p id="asked" className="asked">
            <span className="visually-hidden">You asked: </span>
            {state.question}
          </p>
        )}
        <p id="answer" className={state.answer ? "text" : "text empty"} aria-busy={streaming} data-deltas={state.deltas}>
          {state.answer || (streaming ? "…" : "Ask a question to get an answer.")}
        </p>
        {state.chatError && <ErrorLine id="chat-error" what="The answer failed:" error={state.chatError} />}
        {state.completion && (
          <dl className="ids">
            <dt>Trace ID</dt>
            <dd>
              <code id="trace-id">{state.completion.traceId}</code>
            </dd>
            <dt>Client request ID</dt>
            <dd>
              <code id="client-request-id">{state.completion.clientRequestId}</code>
            </dd>
          </dl>
        )}

        <fieldset className="feedback" disabled={!open} aria-busy={busy}>
          <legend>Was this answer helpful?</legend>
          <div className="votes">
            {VOTES.map(({ value, id, emoji, label }) => (
              <button
                key={id}
                id={id}
                type="button"
                className="vote"
                aria-pressed={state.vote === value}
                aria-disabled={busy || undefined}
                onClick={() => void vote(value)}
              >
                <span aria-hidden="true">{emoji}</span> {label}
              </button>
            ))}
          </div>
          <div className="field">
            <label htmlFor="comment">Comment (optional, sent with your vote)</label>
            <textarea
              id="comment"
              name="comment"
              rows={2}
              value={comment}
              maxLength={MAX_COMMENT_CHARS}
              onChange={(e) => setComment(e.target.value)}
            />
          </div>
          {!open && <p className="hint">The buttons open once the whole answer and its trace ID have arrived.</p>}
        </fieldset>
        <p id="feedback-status" className="status" role="status">
          {status}
        </p>
        {state.feedbackError && (
          <ErrorLine id="feedback-error" what="Your feedback was not saved:" error={state.feedbackError} />
        )}
      </section>
    </main>
  );
}
