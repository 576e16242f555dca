/**
 * The stream CLI (tools/stream.ts through its `bin` shim) against a tiny local
 * server that speaks the protocol: JSON-lines output, the messages for a
 * refused session (400 naming the parameter, 401), in-band errors, abnormal
 * closes, non-WAV files, connection failures, and --mic with a stand-in
 * recorder on PATH.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { conversation, pcmBytes, toWav } from "../../tools/fixtures/synth";

const BIN = path.resolve(import.meta.dirname, "../../tools/stream-bin.mjs");
const STREAM = "/v1/audio/transcriptions/stream";

interface Seen {
  connections: number;
  bytes: number;
  query: URLSearchParams | null;
  authorization: string | undefined;
  messages: unknown[];
}

let server: Server;
let url: string;
let seen: Seen;
let enhancementPolls = 0;
const dir = mkdtempSync(path.join(tmpdir(), "stream-cli-"));
const pcm = pcmBytes(conversation({ turns: [{ f0: 110, seconds: 0.6 }], gapSeconds: 0.2 }));
const wavFile = path.join(dir, "speech.wav");

/** What the service answers, enough of it to drive the CLI. */
function startMock(): Promise<void> {
  const wss = new WebSocketServer({ noServer: true });
  server = createServer((req, res) => {
    const m = req.url?.match(/^\/v1\/audio\/transcriptions\/stream\/(sess_\w+)\/enhancement$/);
    if (!m) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "not_found", message: "no route" } }));
      return;
    }
    enhancementPolls++;
    const body =
      enhancementPolls < 2
        ? { session_id: m[1], enhancement_job_id: "job_1", status: "processing", stage: "transcribe" }
        : {
            session_id: m[1],
            enhancement_job_id: "job_1",
            status: "completed",
            stage: "assemble",
            transcript: { speakers: [{ id: "speaker_0", name: "Alice" }], segments: [{ start: 0.2, end: 0.8, speaker: "speaker_0", text: "Hello." }] },
          };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  server.on("upgrade", (req, socket, head) => {
    const u = new URL(req.url ?? "/", "http://x");
    const refuse = (status: number, error: Record<string, string>) => {
      const body = JSON.stringify({ error });
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    if (u.pathname !== STREAM) return refuse(404, { code: "not_found", message: "no route" });
    const language = u.searchParams.get("language");
    if (language?.startsWith("bad")) {
      return refuse(400, { code: "invalid_request", message: "language: must be 'auto' or a language code such as 'en' or 'en-US'", param: "language" });
    }
    if (req.headers.authorization === "Bearer wrong") return refuse(401, { code: "unauthorized", message: "invalid, revoked or already used credentials" });
    wss.handleUpgrade(req, socket, head, (ws) => {
      seen.connections++;
      seen.query = u.searchParams;
      seen.authorization = req.headers.authorization;
      const enhance = u.searchParams.get("enhance_on_end") === "true";
      const model = u.searchParams.get("model") ?? "mock-realtime";
      const send = (m: unknown) => ws.send(JSON.stringify(m));
      send({ type: "session.begin", session_id: "sess_0123", config: { model }, enhancement: { requested: enhance, llm_cleanup: false, emotions: false } });
      if (model === "inband") send({ type: "error", code: "invalid_frame", message: "odd frame dropped", recoverable: true });
      if (model === "crash") {
        send({ type: "error", code: "internal_error", message: "boom", recoverable: false });
        ws.close(4003, "internal error");
        return;
      }
      let partialAt = 0;
      ws.on("message", (data, isBinary) => {
        if (isBinary) {
          seen.bytes += (data as Buffer).length;
          if (seen.bytes - partialAt >= 16000) {
            partialAt = seen.bytes;
            send({ type: "transcript.partial", text: "Hel", start: 0.2, end: seen.bytes / 32000 });
          }
          return;
        }
        const msg = JSON.parse(data.toString()) as { type: string };
        seen.messages.push(msg);
        if (msg.type === "end") {
          const end = seen.bytes / 32000;
          send({ type: "transcript.final", text: "Hello.", start: 0.2, end, confidence: 0.9 });
          send({ type: "session.end", session_id: "sess_0123", total_duration: end, transcript: "Hello.", segments: [{ start: 0.2, end, text: "Hello." }], enhancement_job_id: enhance ? "job_1" : null });
          // model "push": a server that pushes the enhancement on the socket (await_enhancement);
          // otherwise the socket closes after session.end, as if lost, and the CLI polls.
          if (model === "push" && u.searchParams.get("await_enhancement") === "true") {
            send({ type: "enhancement.status", job_id: "job_1", status: "pending", stage: null });
            send({ type: "enhancement.status", job_id: "job_1", status: "processing", stage: "transcribe" });
            send({ type: "enhancement.completed", job_id: "job_1", transcript: { speakers: [{ id: "speaker_0", name: "Ann" }], segments: [{ start: 0.2, end, speaker: "speaker_0", text: "Hello there." }] } });
          }
          ws.close(1000);
        }
      });
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, TRANSCRIBE_URL: url, TRANSCRIBE_API_KEY: "", NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`CLI timed out; stdout: ${stdout}; stderr: ${stderr}`));
    }, 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string } & Record<string, unknown>);

beforeAll(async () => {
  writeFileSync(wavFile, toWav(new Int16Array(pcm.buffer), 16000));
  await startMock();
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = { connections: 0, bytes: 0, query: null, authorization: undefined, messages: [] };
  enhancementPolls = 0;
});

describe("stream CLI", () => {
  it("--enhance takes the enhanced result pushed on the socket, without polling", async () => {
    const { code, stdout } = await cli([wavFile, "--fast", "--json", "--enhance", "--model", "push"]);
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    expect(lines.map((l) => l.type).slice(-5)).toEqual(["session.end", "enhancement.status", "enhancement.status", "enhancement.completed", "enhancement"]);
    expect(lines.at(-1)).toMatchObject({ type: "enhancement", status: "completed", transcript: { segments: [{ text: "Hello there." }] } });
    expect(seen.query!.get("await_enhancement")).toBe("true");
    expect(enhancementPolls).toBe(0);
    const human = await cli([wavFile, "--fast", "--enhance", "--model", "push"]);
    expect(human.stdout).toContain("enhancement: processing (transcribe)");
    expect(human.stdout).toMatch(/Ann: Hello there\./);
  });

  it("--json prints only JSON lines: the server's messages, then the enhancement (polled when the socket closed after session.end)", async () => {
    const { code, stdout, stderr } = await cli([wavFile, "--fast", "--json", "--enhance", "--key", "k1", "--language", "en"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    const types = lines.map((l) => l.type);
    expect(types[0]).toBe("session.begin");
    expect(types).toContain("transcript.partial");
    expect(types.slice(-4)).toEqual(["session.end", "enhancement.status", "enhancement.status", "enhancement"]);
    expect(lines.at(-1)).toMatchObject({ type: "enhancement", status: "completed", transcript: { segments: [{ text: "Hello." }] } });
    // Everything was sent, whole, and the session ended with `end`.
    expect(seen.bytes).toBe(pcm.byteLength);
    expect(seen.messages).toEqual([{ type: "end" }]);
    expect(Object.fromEntries(seen.query!)).toMatchObject({ encoding: "pcm_s16le", sample_rate: "16000", enhance_on_end: "true", language: "en" });
    expect(seen.authorization).toBe("Bearer k1");
  });

  it("prints the transcript for people, and in-band errors on stderr without stopping", async () => {
    const { code, stdout, stderr } = await cli([wavFile, "--fast", "--model", "inband"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^session sess_0123 \(inband; speech\.wav: pcm_s16le 16000 Hz, fast\)$/m);
    expect(stdout).toMatch(/^\[00:00\.20 → 00:01\.\d\d\] Hello\.$/m);
    expect(stdout).toContain("session ended:");
    expect(stderr).toContain("error invalid_frame (the session continues): odd frame dropped");
  });

  it("names the parameter and the service's message on HTTP 400", async () => {
    const human = await cli([wavFile, "--language", "bad!"]);
    expect(human.code).toBe(1);
    expect(human.stderr.trim()).toBe("invalid parameter 'language' (set by --language): language: must be 'auto' or a language code such as 'en' or 'en-US'");
    expect(human.stdout).toBe("");

    const machine = await cli([wavFile, "--language", "bad!", "--json"]);
    expect(machine.code).toBe(1);
    expect(machine.stdout).toBe("");
    expect(jsonLines(machine.stderr)).toEqual([
      expect.objectContaining({ type: "cli.error", code: "invalid_parameter", status: 400, param: "language", error_code: "invalid_request" }),
    ]);
  });

  it("says to check --key on HTTP 401", async () => {
    const { code, stderr } = await cli([wavFile, "--key", "wrong"]);
    expect(code).toBe(1);
    expect(stderr).toContain("the service refused the credentials (HTTP 401): invalid, revoked or already used credentials; check --key");
  });

  it("refuses a file that is not a WAV, before connecting", async () => {
    const notes = path.join(dir, "notes.wav");
    writeFileSync(notes, "these are not the samples you are looking for\n");
    const { code, stderr } = await cli([notes]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${notes}: not a WAV file: missing RIFF header`);
    expect(stderr).toContain("convert others first");
    expect(seen.connections).toBe(0);
    const missing = await cli([path.join(dir, "nope.wav")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no such file");
  });

  it("explains connection failures and abnormal closes", async () => {
    const closedPort = createServer();
    await new Promise<void>((r) => closedPort.listen(0, "127.0.0.1", r));
    const port = (closedPort.address() as AddressInfo).port;
    await new Promise<void>((r) => closedPort.close(() => r()));
    const refused = await cli([wavFile, "--url", `http://127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot connect to ws://127.0.0.1:${port}: connection refused`);

    const crash = await cli([wavFile, "--model", "crash"]);
    expect(crash.code).toBe(1);
    expect(crash.stderr).toContain("error internal_error (fatal): boom");
    expect(crash.stderr).toContain("connection closed (code 4003): internal error in the service");
  });

  it("--mic says what to install when neither rec nor arecord is on PATH", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "stream-cli-path-"));
    const { code, stderr } = await cli(["--mic"], { PATH: empty });
    expect(code).toBe(2);
    expect(stderr).toContain("--mic needs a recorder on PATH: SoX's `rec`");
    expect(stderr).toContain("`arecord`");
    expect(seen.connections).toBe(0);
  });

  it("--mic streams what the recorder captures (16 kHz s16le mono raw) and ends the session", async () => {
    const bin = mkdtempSync(path.join(tmpdir(), "stream-cli-bin-"));
    const raw = path.join(dir, "mic.raw");
    writeFileSync(raw, pcm);
    const argsFile = path.join(dir, "arecord-args");
    // A stand-in arecord: records its arguments, "captures" the raw file, then stops.
    writeFileSync(path.join(bin, "arecord"), `#!/bin/sh\necho "$@" > "${argsFile}"\nexec /bin/cat "${raw}"\n`);
    chmodSync(path.join(bin, "arecord"), 0o755);
    const { code, stdout, stderr } = await cli(["--mic", "--json"], { PATH: bin });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(readFileSync(argsFile, "utf8").trim()).toBe("-q -t raw -f S16_LE -r 16000 -c 1");
    expect(seen.bytes).toBe(pcm.byteLength);
    expect(Object.fromEntries(seen.query!)).toMatchObject({ encoding: "pcm_s16le", sample_rate: "16000" });
    expect(jsonLines(stdout).map((l) => l.type)).toContain("session.end");
  });
});
