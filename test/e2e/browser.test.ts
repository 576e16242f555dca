/**
 * The browser page (public/) in headless Chromium against the real stack: the
 * page is served by wrangler's static assets at `/`, captures a fake
 * microphone (a synthetic conversation WAV) through the AudioWorklet, streams
 * it, shows live finals, and after Stop renders the enhancement pushed on the
 * socket; the history panel opens a past session (player, seek on click,
 * live vs enhanced with the changes highlighted, downloads).
 *
 * Chromium is Debian's package: installed here when missing (apt-get, as root).
 * Where that is impossible the tests are skipped with the reason.
 * Screenshots: .artifacts/screenshots/browser.png, history.png.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseSync, type NodeCue } from "subtitle";
import { conversation, pcmBytes, toWav } from "../../tools/fixtures/synth";
import { connect, sendInFrames } from "../helpers/ws-client";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = path.resolve(import.meta.dirname, "../../.artifacts/screenshots");

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: -1, output: String(err) });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** null when Chromium is there (now), else why it cannot be. */
async function ensureChromium(): Promise<string | null> {
  if (existsSync(CHROMIUM)) return null;
  if (process.platform !== "linux" || !existsSync("/usr/bin/apt-get")) {
    return `${CHROMIUM} is missing and there is no apt-get to install it (install Chromium and link it there)`;
  }
  if (process.getuid?.() !== 0) return `${CHROMIUM} is missing and installing it needs root: sudo apt-get install -y chromium`;
  const update = await run("apt-get", ["update", "-qq"], 300_000);
  if (update.code !== 0) return `apt-get update failed (${update.code}): ${update.output.trim().split("\n").slice(-3).join(" | ")}`;
  const install = await run("apt-get", ["install", "-y", "-qq", "chromium"], 600_000);
  if (install.code !== 0 || !existsSync(CHROMIUM)) {
    return `apt-get install chromium failed (${install.code}): ${install.output.trim().split("\n").slice(-3).join(" | ")}`;
  }
  return null;
}

let unavailable: string | null = null;
let browser: Browser | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  unavailable = await ensureChromium();
  if (unavailable) return;
  // 16-bit PCM WAV at 48 kHz (Chromium's fake capture reads it and loops it): two voices,
  // so the emulator says "Hello, my name is Alice." then "Hi Alice, I am Bob.", 110 Hz vs 220 Hz.
  const dir = mkdtempSync(path.join(tmpdir(), "edge-transcribe-browser-"));
  const wav = path.join(dir, "conversation-48k.wav");
  const rate = 48000;
  writeFileSync(wav, toWav(conversation({ turns: [{ f0: 110, seconds: 1.6 }, { f0: 220, seconds: 1.4 }], gapSeconds: 0.7, sampleRate: rate }), rate));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${wav}`,
    ],
  });
}, 900_000);

afterAll(async () => {
  await browser?.close();
});

async function openPage(query = ""): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 860 } });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error") pageErrors.push(msg.text());
  });
  const res = await page.goto(`${inject("serviceUrl")}/${query}`);
  expect(res?.status()).toBe(200);
  return page;
}

const messages = (page: Page) => page.locator("#messages").innerText();

describe("browser page (e2e, headless Chromium)", () => {
  it("streams the microphone, shows live finals, then the enhanced transcript", async (ctx) => {
    if (unavailable) ctx.skip(`Chromium unavailable: ${unavailable}`);
    const page = await openPage();
    await expect(page.title()).resolves.toContain("edge-transcribe");

    // Cleanup and emotions only make sense with the enhancement.
    expect(await page.isDisabled("#cleanup")).toBe(true);
    expect(await page.isDisabled("#emotions")).toBe(true);
    await page.getByLabel("Enhance the recording").check();
    expect(await page.isDisabled("#cleanup")).toBe(false);
    await page.getByLabel("LLM cleanup").check();
    await page.getByLabel("Emotion labels").check();

    await page.getByRole("button", { name: "Start" }).click();
    await page.locator("#status[data-state=listening]").waitFor({ timeout: 15_000 });
    expect(await page.locator("#session-info").innerText()).toMatch(/sess_[0-9a-f]{32}/);
    expect(await page.locator("#enhancement-status").innerText()).toBe("requested");

    // The emulator's first scripted line, then the second (the second voice).
    const alice = page.locator("#live li", { hasText: "Hello, my name is Alice." });
    await alice.waitFor({ timeout: 20_000 });
    expect(await alice.locator("time").innerText()).toMatch(/^\d\d:\d\d\.\d–\d\d:\d\d\.\d$/);
    await page.locator("#live li", { hasText: "Hi Alice, I am Bob." }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Stop" }).click();

    await page.locator("#status[data-state=ended]").waitFor({ timeout: 20_000 });
    expect(await page.locator("#status").innerText()).toMatch(/Session ended: \d+\.\d s of audio/);
    const status = page.locator("#enhancement-status");
    await page.locator('#enhancement-status[data-status="completed"], #enhancement-status[data-status="failed"]').waitFor({ timeout: 30_000 });
    expect(await status.getAttribute("data-status"), await messages(page)).toBe("completed");

    // Speakers by name, timestamps, emotion labels.
    const speakers = await page.locator("#speakers").innerText();
    expect(speakers).toContain("Alice");
    expect(speakers).toContain("Bob");
    const first = page.locator("#enhanced li").first();
    expect(await first.locator(".speaker").innerText()).toBe("Alice");
    expect(await first.locator(".text").innerText()).toBe("Hello, my name is Alice.");
    expect(await first.locator("time").innerText()).toMatch(/^\d\d:\d\d\.\d–\d\d:\d\d\.\d$/);
    expect(await page.locator("#enhanced li .emotion").count()).toBeGreaterThan(0);
    expect(await page.locator("#enhancement-detail").innerText()).toContain("cleanup: completed");
    expect(await page.locator("#messages .msg.error").count(), await messages(page)).toBe(0);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "browser.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it("reconnects by itself when the connection drops, resumes the session and keeps every live final", async (ctx) => {
    if (unavailable) ctx.skip(`Chromium unavailable: ${unavailable}`);
    const page = await openPage();
    await page.getByRole("button", { name: "Start" }).click();
    await page.locator("#status[data-state=listening]").waitFor({ timeout: 15_000 });
    await page.locator("#live li", { hasText: "Hello, my name is Alice." }).waitFor({ timeout: 20_000 });
    // The network drops the connection: the page's own socket closes with a code that is not final.
    await page.evaluate("session.ws.close(3001, 'network changed')");
    await page.locator("#messages", { hasText: "Reconnected" }).waitFor({ timeout: 30_000 });
    expect(await page.locator("#status").getAttribute("data-state")).toBe("listening");
    // The session goes on: the next scripted line arrives on the resumed connection.
    await page.locator("#live li", { hasText: "Hi Alice, I am Bob." }).waitFor({ timeout: 20_000 });
    const sessionId = ((await page.locator("#session-info").innerText()).match(/sess_[0-9a-f]{32}/) ?? [])[0];
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator("#status[data-state=ended]").waitFor({ timeout: 20_000 });
    // One session, one timeline: each line once.
    const lines = await page.locator("#live li .text").allInnerTexts();
    expect(new Set(lines).size).toBe(lines.length);
    expect(sessionId).toBeDefined();
    expect(await page.locator("#messages .msg.error").count(), await messages(page)).toBe(0);
    await page.screenshot({ path: path.join(SCREENSHOTS, "resume.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it("history: opens a past session, plays it from a clicked segment, shows what the enhancement changed, downloads every format", async (ctx) => {
    if (unavailable) ctx.skip(`Chromium unavailable: ${unavailable}`);
    // A session with the emulator's filler line, cleaned up by the enhancement ("um so how was the uh weekend").
    const client = await connect(`${inject("serviceUrl").replace("http", "ws")}/v1/audio/transcriptions/stream?enhance_on_end=true&enhance_llm_cleanup=true&await_enhancement=true`);
    const begin = await client.next("session.begin");
    await sendInFrames(client, pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.4 }, { f0: 220, seconds: 1.4 }, { f0: 110, seconds: 1.4 }], gapSeconds: 0.6 })), 3200);
    await client.sendJson({ type: "end" });
    await client.next("enhancement.completed", 60_000);
    await client.closed;

    const page = await openPage();
    const item = page.locator(`.history-item[data-session-id="${begin.session_id}"]`);
    await item.waitFor({ timeout: 15_000 });
    expect(await page.locator(".history-item").first().getAttribute("data-session-id")).toBe(begin.session_id);
    expect(await item.innerText()).toMatch(/enhancement completed/);
    await item.click();
    const live = page.locator("#compare-live li");
    const enhanced = page.locator("#compare-enhanced li");
    await enhanced.nth(2).waitFor({ timeout: 10_000 });
    expect(await live.count()).toBe(3);
    expect(await enhanced.first().innerText()).toContain("Alice: Hello, my name is Alice.");
    // Cleanup removed the fillers: highlighted on the live side; the cleaned line is on the other.
    expect(await page.locator("#compare-live mark.deleted").allInnerTexts()).toEqual(["um", "uh"]);
    expect(await enhanced.nth(2).innerText()).toContain("So how was the weekend.");
    expect(await page.locator("#diff-note").innerText()).toMatch(/dropped or replaced 2 words/);

    // The recording plays from the clicked segment.
    await page.waitForFunction(() => (document.getElementById("player") as HTMLAudioElement).readyState >= 1, undefined, { timeout: 10_000 });
    const start = Number(await enhanced.nth(1).getAttribute("data-start"));
    expect(start).toBeGreaterThan(0);
    await enhanced.nth(1).click();
    await page.waitForFunction((s) => Math.abs((document.getElementById("player") as HTMLAudioElement).currentTime - s) < 0.5, start, { timeout: 10_000 });
    expect(await enhanced.nth(1).getAttribute("class")).toContain("playing");

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "history.png"), fullPage: true });

    // Downloads, each parsed: SRT and VTT with the subtitle parser, TXT and JSON as they are.
    const downloaded: Record<string, string> = {};
    for (const format of ["srt", "vtt", "txt", "json"]) {
      const [file] = await Promise.all([page.waitForEvent("download"), page.locator(`#downloads button[data-format="${format}"]`).click()]);
      expect(file.suggestedFilename()).toBe(`${begin.session_id}.enhanced.${format}`);
      downloaded[format] = readFileSync((await file.path())!, "utf8");
    }
    const cues = (text: string) => parseSync(text).filter((n): n is NodeCue => n.type === "cue").map((n) => n.data.text);
    expect(cues(downloaded.srt!)[0]).toBe("Alice: Hello, my name is Alice.");
    expect(cues(downloaded.vtt!)[0]).toBe("<v Alice>Hello, my name is Alice.</v>");
    expect(downloaded.txt!.split("\n")[1]).toBe("Bob: Hi Alice, I am Bob.");
    expect(JSON.parse(downloaded.json!)).toMatchObject({ session_id: begin.session_id, speakers: [{ name: "Alice" }, { name: "Bob" }] });
    expect(await page.locator("#messages .msg.error").count(), await messages(page)).toBe(0);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it("resamples in the AudioWorklet when the context runs at the device rate", async (ctx) => {
    if (unavailable) ctx.skip(`Chromium unavailable: ${unavailable}`);
    const page = await openPage("?capture=native");
    await page.getByRole("button", { name: "Start" }).click();
    await page.locator("#live li", { hasText: "Hello, my name is Alice." }).waitFor({ timeout: 20_000 });
    expect(await page.locator("#session-info").innerText()).toMatch(/\d+ Hz capture, resampled to 16 kHz in the worklet/);
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator("#status[data-state=ended]").waitFor({ timeout: 20_000 });
    expect(await page.locator("#enhancement-status").getAttribute("data-status")).toBe("not_requested");
    await page.close();
  });

  it("shows the service's HTTP 400 message, naming the parameter", async (ctx) => {
    if (unavailable) ctx.skip(`Chromium unavailable: ${unavailable}`);
    const page = await openPage("?model=no-such-model");
    await page.getByRole("button", { name: "Start" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: 10_000 });
    expect(await alert.innerText()).toMatch(/Invalid parameter “model” \(HTTP 400\):.*unknown model 'no-such-model'/);
    expect(await page.locator("#status").getAttribute("data-state")).toBe("error");
    expect(await page.isEnabled("#start")).toBe(true);
    await page.close();
  });
});
