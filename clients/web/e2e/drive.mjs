// Drives the page in Debian's Chromium with Playwright (playwright-core: no browser download)
// and prints what it saw as one JSON object on stdout; the Python tests assert on it.
//
//   node e2e/drive.mjs '{"mode": "render" | "feedback", "url": "...", "chromium": "/usr/bin/chromium",
//                        "screenshot": "/path/page.png", "user": "...", "question": "...",
//                        "comment": "...", "timeoutMs": 60000}'
//
// render:   loads the page and reports its form (labels, buttons and whether they are enabled).
// feedback: asks a question (typed, sent with Enter), records every change of the answer while
//           it streams, votes 👎 with a comment, changes it to 👍, and reports what the page
//           showed and the LogFeedback requests it sent (path, headers, JSON body).
// Both save a full-page screenshot (also when something failed, as "<name>.failed.png").
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

// Headless Chromium on a machine without a network or a desktop: no sandbox (we run as root),
// no GPU, none of the background connections to Google's services, no first-run UI.
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

const options = JSON.parse(process.argv[2] ?? "{}");
const timeout = options.timeoutMs ?? 60_000;

async function form(page) {
  const button = async (name) => {
    const locator = page.getByRole("button", { name, exact: true });
    return { count: await locator.count(), enabled: (await locator.count()) === 1 && (await locator.isEnabled()) };
  };
  return {
    title: await page.title(),
    heading: await page.getByRole("heading", { level: 1 }).textContent(),
    user: await page.getByLabel("User", { exact: true }).inputValue(),
    question: await page.getByLabel("Your question").count(),
    comment: { count: await page.getByLabel(/^Comment/).count(), enabled: await page.getByLabel(/^Comment/).isEnabled() },
    ask: await button("Ask"),
    up: await button("Helpful"),
    down: await button("Not helpful"),
    chat: await page.locator("main").getAttribute("data-chat"),
  };
}

async function vote(page, name, pressedId) {
  await page.getByRole("button", { name, exact: true }).click();
  await page.locator(`main[data-feedback="received"] #${pressedId}[aria-pressed="true"]`).waitFor({ timeout });
  return (await page.locator("#feedback-status").textContent()) ?? "";
}

async function feedback(page, report) {
  const calls = [];
  page.on("requestfinished", (request) => {
    calls.push(
      (async () => ({
        path: new URL(request.url()).pathname,
        method: request.method(),
        headers: await request.allHeaders(),
        body: request.postData(),
      }))(),
    );
  });
  report.before = await form(page);
  // Every change of the answer, with the page's chat phase and the 👍 button's state at that moment.
  await page.evaluate(() => {
    const answer = document.getElementById("answer");
    const main = document.querySelector("main");
    const up = document.getElementById("vote-up");
    window.__answerChanges = [];
    new MutationObserver(() => {
      window.__answerChanges.push({ text: answer.textContent, chat: main.dataset.chat, upDisabled: up.matches(":disabled") });
    }).observe(answer, { childList: true, characterData: true, subtree: true });
  });
  await page.getByLabel("User", { exact: true }).fill(options.user);
  await page.getByLabel("Your question").click();
  await page.keyboard.type(options.question);
  await page.keyboard.press("Enter");
  await page.locator('main[data-chat="answered"], main[data-chat="failed"]').waitFor({ timeout });
  report.answerChanges = await page.evaluate(() => window.__answerChanges);
  report.chat = await page.locator("main").getAttribute("data-chat");
  if (report.chat !== "answered") {
    report.chatError = await page.locator("#chat-error").textContent();
    return;
  }
  report.answer = await page.locator("#answer").textContent();
  report.traceId = await page.locator("#trace-id").textContent();
  report.clientRequestId = await page.locator("#client-request-id").textContent();
  report.after = await form(page);
  await page.getByLabel(/^Comment/).fill(options.comment);
  report.downStatus = await vote(page, "Not helpful", "vote-down");
  report.upStatus = await vote(page, "Helpful", "vote-up");
  report.pressed = {
    up: await page.locator("#vote-up").getAttribute("aria-pressed"),
    down: await page.locator("#vote-down").getAttribute("aria-pressed"),
  };
  report.requests = (await Promise.all(calls)).filter((call) => call.path !== "/" && !call.path.startsWith("/assets/"));
}

const report = { mode: options.mode, url: options.url, consoleErrors: [] };
const profile = await mkdtemp(join(tmpdir(), "feedback-chromium-"));
let context;
let page;
let failed = false;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: options.chromium,
    headless: true,
    args: FLAGS,
    viewport: { width: 960, height: 1000 },
    timeout,
  });
  report.browser = context.browser()?.version() ?? null;
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  page.on("console", (message) => {
    if (message.type() === "error") report.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => report.consoleErrors.push(String(error)));
  const response = await page.goto(options.url, { waitUntil: "networkidle" });
  report.status = response?.status() ?? null;
  await page.getByLabel("Your question").waitFor();
  if (options.mode === "render") report.form = await form(page);
  else if (options.mode === "feedback") await feedback(page, report);
  else throw new Error(`unknown mode ${options.mode}`);
} catch (error) {
  failed = true;
  report.error = error instanceof Error ? error.message : String(error);
} finally {
  if (page && options.screenshot) {
    const path = failed ? options.screenshot.replace(/\.png$/, ".failed.png") : options.screenshot;
    await page.screenshot({ path, fullPage: true }).catch((error) => (report.screenshotError = String(error)));
    report.screenshot = path;
  }
  await context?.close().catch(() => {});
  await rm(profile, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(failed ? 1 : 0);
