/**
 * The local engine's HTTP/WebSocket front: who may connect and what is refused
 * before any recognizer is used (so no worker thread is started here; the
 * recognition itself is covered by test/e2e/real-speech.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { isLoopback, LocalEngineConfigError, startLocalEngine, type LocalEngineHandle } from "../../tools/local-engine/server";

const TOKEN = "s3cret-token";
let engine: LocalEngineHandle;

beforeAll(async () => {
  engine = await startLocalEngine({ token: TOKEN, spare: 0, maxSessions: 1 });
});
afterAll(async () => {
  await engine?.close();
});

/** HTTP status of a WebSocket upgrade attempt (101 when accepted). */
function upgradeStatus(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${engine.wsUrl}?${query}`, { headers });
    ws.once("open", () => {
      ws.terminate();
      resolve({ status: 101, body: "" });
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("error", () => undefined);
  });
}

describe("local engine access", () => {
  it("refuses to listen beyond loopback without a token", async () => {
    await expect(startLocalEngine({ host: "0.0.0.0", spare: 0 })).rejects.toBeInstanceOf(LocalEngineConfigError);
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("localhost")).toBe(true);
    expect(isLoopback("0.0.0.0")).toBe(false);
    expect(isLoopback("10.0.0.5")).toBe(false);
  });

  it("keeps /health open and says what it is", async () => {
    const res = await fetch(`${engine.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-engine")).toBe("local-engine");
    expect(await res.json()).toMatchObject({ status: "ok", engine: "pocketsphinx", model: "pocketsphinx-en-us", sessions: { in_use: 0, limit: 1 } });
  });

  it("requires the token as Bearer or xi-api-key on the batch API", async () => {
    const post = (headers: Record<string, string>) => fetch(`${engine.url}/v1/speech-to-text`, { method: "POST", headers, body: "x" });
    expect((await post({})).status).toBe(401);
    expect((await post({ "xi-api-key": "wrong" })).status).toBe(401);
    // Right token, wrong body: past authentication, refused by validation.
    expect((await post({ "xi-api-key": TOKEN, "content-type": "text/plain" })).status).toBe(422);
    expect((await post({ Authorization: `Bearer ${TOKEN}`, "content-type": "text/plain" })).status).toBe(422);
  });

  it("refuses realtime upgrades without the token, for unknown models and for other languages", async () => {
    expect((await upgradeStatus("model=pocketsphinx-en-us")).status).toBe(401);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const model = await upgradeStatus("model=emulator-realtime", auth);
    expect(model.status).toBe(400);
    expect(JSON.parse(model.body)).toMatchObject({ error: { code: "invalid_request", param: "model" } });
    const language = await upgradeStatus("model=pocketsphinx-en-us&language=de", auth);
    expect(language.status).toBe(400);
    expect(JSON.parse(language.body)).toMatchObject({ error: { param: "language" } });
    expect((await upgradeStatus("sample_rate=8000", auth)).status).toBe(400);
  });
});
