/**
 * Authentication, ownership and limits on a stack with AUTH_MODE=required.
 * Keys are made with the real `npm run keys` command against the stack's Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../../tools/stack/redis";
import { startStack, type Stack } from "../../tools/stack/stack";
import { eventually, getJson } from "../helpers/http";
import { createKey as createKeyOf, keys as keysOf } from "../helpers/keys";
import { connect, type Client } from "../helpers/ws-client";
import { streamUrl } from "../helpers/e2e";

let stack: Stack;
const wsUrl = (query = "") => streamUrl(stack.wsUrl, query);
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

const keys = (...args: string[]) => keysOf(stack, ...args);
const createKey = (name: string, scopes?: string) => createKeyOf(stack, name, scopes);

async function endSession(client: Client) {
  await client.sendJson({ type: "end" });
  return client.next("session.end");
}

const rejectStatus = (promise: Promise<unknown>) =>
  promise.then(
    () => 101,
    (err: { status?: number }) => err.status ?? 0,
  );

let alice: { id: string; key: string };
let bob: { id: string; key: string };
let admin: { id: string; key: string };
let reader: { id: string; key: string };

beforeAll(async () => {
  stack = await startStack({
    port: await findFreePort(),
    redisPort: 0,
    bridgePort: 0,
    emulatorPort: 0,
    vars: {
      AUTH_MODE: "required",
      MAX_CONCURRENT_SESSIONS_PER_KEY: "2",
      MAX_MESSAGES_PER_SECOND: "50",
      CLIENT_GONE_GRACE_SECONDS: "1",
    },
    log: () => undefined,
  });
  alice = await createKey("alice");
  bob = await createKey("bob");
  admin = await createKey("ops", "admin");
  reader = await createKey("dashboard", "jobs:read");
});

afterAll(async () => {
  await stack?.stop();
});

describe("auth (e2e)", () => {
  it("keys are listed by id and name, never by secret", async () => {
    const list = await keys("list");
    expect(list).toContain(alice.id);
    expect(list).toContain("alice");
    expect(list).not.toContain(alice.key);
  });

  it("refuses requests without or with bad credentials with 401", async () => {
    expect(await rejectStatus(connect(wsUrl()))).toBe(401);
    expect(await rejectStatus(connect(wsUrl(), bearer("etk_0000000000000000000000000000000000000000")))).toBe(401);
    const res = await getJson(`${stack.url}/v1/audio/transcriptions/job_00000000000000000000000000000000`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: "unauthorized" } });
    // Health stays open for load balancers.
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
  });

  it("a key without the realtime scope cannot open sessions (403)", async () => {
    expect(await rejectStatus(connect(wsUrl(), bearer(reader.key)))).toBe(403);
  });

  it("a session is visible to the key that opened it and to admins; to anyone else it does not exist", async () => {
    const client = await connect(wsUrl("enhance_on_end=true"), bearer(alice.key));
    const begin = await client.next("session.begin");
    await client.send(new Uint8Array(32000));
    const end = await endSession(client);
    const paths = [
      `/v1/audio/transcriptions/stream/${begin.session_id}`,
      `/v1/audio/transcriptions/stream/${begin.session_id}/audio`,
      `/v1/audio/transcriptions/stream/${begin.session_id}/enhancement`,
      `/v1/audio/transcriptions/${end.enhancement_job_id}`,
    ];
    for (const p of paths) {
      expect((await fetch(`${stack.url}${p}`, { headers: bearer(alice.key) })).status, p).toBe(200);
      expect((await fetch(`${stack.url}${p}`, { headers: bearer(admin.key) })).status, p).toBe(200);
      const other = await getJson(`${stack.url}${p}`, { headers: bearer(bob.key) });
      expect(other.status, p).toBe(404);
      expect(other.body).toMatchObject({ error: { code: "not_found" } });
    }
  });

  it("browsers: ?api_key works, and a token from POST /v1/auth/tokens opens exactly one session", async () => {
    const viaQuery = await connect(wsUrl(`api_key=${alice.key}`));
    await viaQuery.next("session.begin");
    await endSession(viaQuery);

    const issued = await getJson<{ token: string; expires_at: string }>(`${stack.url}/v1/auth/tokens`, {
      method: "POST",
      headers: bearer(alice.key),
    });
    expect(issued.status).toBe(201);
    expect(issued.body.token).toMatch(/^ett_/);
    const withToken = await connect(wsUrl(`token=${issued.body.token}`));
    const begin = await withToken.next("session.begin");
    await endSession(withToken);
    expect(await rejectStatus(connect(wsUrl(`token=${issued.body.token}`)))).toBe(401);
    // The session belongs to the key that asked for the token.
    expect((await fetch(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}`, { headers: bearer(alice.key) })).status).toBe(200);
    expect((await fetch(`${stack.url}/v1/audio/transcriptions/tokens`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${stack.url}/v1/auth/tokens`, { method: "POST" })).status).toBe(401);
  });

  it("limits live sessions per key (429) and frees the slot on end and when a client vanishes", async () => {
    const first = await connect(wsUrl(), bearer(bob.key));
    await first.next("session.begin");
    const second = await connect(wsUrl(), bearer(bob.key));
    await second.next("session.begin");
    const third = await connect(wsUrl(), bearer(bob.key)).catch((err: { status: number; body: string }) => err);
    expect(third).toMatchObject({ status: 429 });
    expect(JSON.parse((third as { body: string }).body).error.code).toBe("rate_limited");
    // Another key is not affected.
    const aliceSession = await connect(wsUrl(), bearer(alice.key));
    await aliceSession.next("session.begin");
    await endSession(aliceSession);

    await endSession(first);
    const fourth = await eventually(() => connect(wsUrl(), bearer(bob.key)).catch(() => null), 10_000);
    await fourth.next("session.begin");

    second.ws.terminate(); // vanishes; its slot comes back after the grace period
    const fifth = await eventually(() => connect(wsUrl(), bearer(bob.key)).catch(() => null), 15_000);
    await fifth.next("session.begin");
    await endSession(fourth);
    await endSession(fifth);
  });

  it("over MAX_MESSAGES_PER_SECOND the client is told (at most once a second), the rest is dropped, and the session goes on", async () => {
    const client = await connect(wsUrl(), bearer(alice.key));
    await client.next("session.begin");
    for (let i = 0; i < 300; i++) client.ws.send(new Uint8Array(320));
    const error = await client.next("error");
    expect(error).toMatchObject({ code: "rate_limited", recoverable: true });
    const end = await endSession(client);
    expect(end.total_duration).toBeGreaterThan(0);
    expect(end.total_duration).toBeLessThan(300 * 0.01);
    // Exact accounting, however the frames were spread over time on a busy machine.
    expect(end.bytes_dropped + end.total_duration * 32000).toBeCloseTo(300 * 320, 0);
    const errors = client.messages.filter((m) => m.type === "error");
    expect(errors.every((m) => m.code === "rate_limited")).toBe(true);
    const times = client.messages.flatMap((m, i) => (m.type === "error" ? [client.times[i]!] : []));
    expect(errors.length).toBeLessThanOrEqual(Math.ceil((times[times.length - 1]! - times[0]!) / 1000) + 1);
  });

  it("a revoked key stops working", async () => {
    const temp = await createKey("temp");
    const ok = await connect(wsUrl(), bearer(temp.key));
    await ok.next("session.begin");
    await endSession(ok);
    expect(await keys("revoke", temp.id)).toContain("revoked");
    expect(await rejectStatus(connect(wsUrl(), bearer(temp.key)))).toBe(401);
  });
});
