/**
 * `/v1/listen` credentials on a stack with AUTH_MODE=required, in every form
 * a Deepgram client sends them: `Authorization: Token` (the SDK on servers),
 * `Bearer`, the `token, <key>` / `bearer, <token>` subprotocols (browsers),
 * and one-use browser tokens from POST /v1/auth/tokens.
 */
import { DeepgramClient } from "@deepgram/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../../tools/stack/redis";
import { startStack, type Stack } from "../../tools/stack/stack";
import { openDeepgram, type DeepgramWire } from "../helpers/deepgram-wire";
import { getJson } from "../helpers/http";
import { createKey } from "../helpers/keys";
import { connect } from "../helpers/ws-client";

let stack: Stack;
let key: string;
const listenUrl = () => `${stack.wsUrl}/v1/listen?encoding=linear16&sample_rate=16000`;

beforeAll(async () => {
  stack = await startStack({ port: await findFreePort(), redisPort: 0, bridgePort: 0, emulatorPort: 0, log: () => undefined, vars: { AUTH_MODE: "required" } });
  key = (await createKey(stack, "deepgram-client")).key;
});

afterAll(async () => {
  await stack?.stop();
});

/** CloseStream, and the session id the closing Metadata names. */
async function finish(dg: DeepgramWire): Promise<string> {
  await dg.sendJson({ type: "CloseStream" });
  const metadata = await dg.next((m) => m.type === "Metadata");
  expect((await dg.closed).code).toBe(1000);
  return metadata.session_id as string;
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ status: 101, body: "{}" }),
    (err: { status: number; body: string }) => err,
  );

describe("Deepgram credentials", () => {
  it("Authorization: Token and Bearer; the session belongs to the key", async () => {
    for (const scheme of ["Token", "Bearer"]) {
      const sessionId = await finish(await openDeepgram(listenUrl(), { headers: { Authorization: `${scheme} ${key}` } }));
      const record = await getJson(`${stack.url}/v1/audio/transcriptions/stream/${sessionId}`, { headers: { Authorization: `Bearer ${key}` } });
      expect(record.status, scheme).toBe(200);
    }
  });

  it("browsers: the token subprotocol with a key, the bearer subprotocol with a one-use token", async () => {
    const withKey = await openDeepgram(listenUrl(), { protocols: ["token", key] });
    expect(withKey.ws.protocol).toBe("token");
    await finish(withKey);

    const issued = await getJson<{ token: string }>(`${stack.url}/v1/auth/tokens`, { method: "POST", headers: { Authorization: `Bearer ${key}` } });
    const withToken = await openDeepgram(listenUrl(), { protocols: ["bearer", issued.body.token] });
    expect(withToken.ws.protocol).toBe("bearer");
    await finish(withToken);
    // One use only.
    const again = await refusal(connect(listenUrl(), { "Sec-WebSocket-Protocol": `bearer, ${issued.body.token}` }));
    expect(again.status).toBe(401);
  });

  it("no or wrong credentials: 401 with Deepgram's error body", async () => {
    for (const headers of [{}, { Authorization: "Token nope" }] as Record<string, string>[]) {
      const refused = await refusal(connect(listenUrl(), headers));
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toEqual({ err_code: "INVALID_AUTH", err_msg: expect.any(String), request_id: expect.any(String) });
    }
  });

  it("the SDK with a real key, as Deepgram's servers would see it", async () => {
    const connection = await new DeepgramClient({ apiKey: key, baseUrl: stack.url }).listen.v1.connect({ model: "nova-3", encoding: "linear16", sample_rate: 16000 });
    const metadata = new Promise<Record<string, unknown>>((resolve) =>
      connection.on("message", (m) => {
        if (m.type === "Metadata") resolve(m as unknown as Record<string, unknown>);
      }),
    );
    connection.connect();
    await connection.waitForOpen();
    connection.sendCloseStream({ type: "CloseStream" });
    expect((await metadata).session_id).toMatch(/^sess_/);
  });
});
