/**
 * Authentication, ownership and limits on a stack with AUTH_MODE=required.
 * Keys are made with the real `npm run keys` command against the stack's Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../tools/stack/stack";
import { eventually, getJson } from "../helpers/http";
import { createKey as createKeyOf, keys as keysOf } from "../helpers/keys";
import { connect, type Client } from "../helpers/ws-client";
import { streamUrl } from "../helpers/e2e";
import { startOwnStack } from "../helpers/stack";
import { startReceiver } from "../helpers/webhook-receiver";
import { Webhook } from "standardwebhooks";

let stack: Stack;
const wsUrl = (query = "") => streamUrl(stack.wsUrl, query);
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

const keys = (...args: string[]) => keysOf(stack, ...args);
const createKey = (name: string, scopes?: string) => createKeyOf(stack, name, scopes);

async function endSession(client: Client) {
  await client.sendJson({ type: "end" });
  return client.next("session.end");
}

async function issueToken(key: string): Promise<string> {
  const issued = await getJson<{ token: string }>(`${stack.url}/v1/auth/tokens`, { method: "POST", headers: bearer(key) });
  expect(issued.status).toBe(201);
  return issued.body.token;
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
  stack = await startOwnStack({
    AUTH_MODE: "required",
    MAX_CONCURRENT_SESSIONS_PER_KEY: "2",
    MAX_MESSAGES_PER_SECOND: "50",
    CLIENT_GONE_GRACE_SECONDS: "1",
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
    // Exports follow the same rule once the session ended.
    await eventually(async () => (await fetch(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}/transcript?version=live`, { headers: bearer(alice.key) })).status === 200);
    paths.push(`/v1/audio/transcriptions/stream/${begin.session_id}/transcript?version=live&format=vtt`);
    for (const p of paths) {
      expect((await fetch(`${stack.url}${p}`, { headers: bearer(alice.key) })).status, p).toBe(200);
      expect((await fetch(`${stack.url}${p}`, { headers: bearer(admin.key) })).status, p).toBe(200);
      const other = await getJson(`${stack.url}${p}`, { headers: bearer(bob.key) });
      expect(other.status, p).toBe(404);
      expect(other.body).toMatchObject({ error: { code: "not_found" } });
    }
  });

  it("history: each key lists its own sessions; only admins may filter by owner", async () => {
    const client = await connect(wsUrl(), bearer(alice.key));
    const begin = await client.next("session.begin");
    await endSession(client);
    type Page = { sessions: { session_id: string }[]; next_cursor: string | null };
    const list = (key: string, query = "") => getJson<Page>(`${stack.url}/v1/audio/transcriptions/stream?limit=100${query}`, { headers: bearer(key) });
    const ids = async (key: string, query = "") => (await eventually(async () => {
      const r = await list(key, query);
      return r.status === 200 && r.body.sessions.length > 0 ? r : null;
    })).body.sessions.map((s) => s.session_id);
    expect((await ids(alice.key))[0]).toBe(begin.session_id);
    expect((await list(bob.key)).body.sessions.map((s) => s.session_id)).not.toContain(begin.session_id);
    expect((await ids(admin.key, `&owner=${alice.id}`))[0]).toBe(begin.session_id);
    const forbidden = await getJson<{ error: { code: string; param: string } }>(`${stack.url}/v1/audio/transcriptions/stream?owner=${alice.id}`, { headers: bearer(bob.key) });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.param).toBe("owner");
    expect((await fetch(`${stack.url}/v1/audio/transcriptions/stream`)).status).toBe(401);
  });

  it("a key's default webhook URL is used and signed with that key's secret, which rotates", async () => {
    const hooks = await startReceiver("whsec_AAAA");
    try {
      const created = JSON.parse(
        await keys("create", "--name", "carol", "--webhook-url", hooks.url, "--allow-local-url", "--json"),
      ) as { id: string; key: string; webhook_secret: string; webhook_url: string };
      expect(created.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(created.webhook_url).toBe(hooks.url);
      expect(await keys("list")).not.toContain(created.webhook_secret);
      // The URL rules hold for keys too (without --allow-local-url a loopback URL is refused).
      await expect(keys("set-webhook-url", created.id, "http://127.0.0.1:1/")).rejects.toThrow(/loopback|https/);

      const runJob = async () => {
        const client = await connect(wsUrl("enhance_on_end=true"), bearer(created.key));
        await client.next("session.begin");
        await client.send(new Uint8Array(64000));
        const end = await endSession(client);
        const hook = await eventually(async () => hooks.received.find((r) => r.body.includes(end.enhancement_job_id!)), 60_000, 250);
        return hook;
      };
      const first = await runJob();
      expect(() => new Webhook(created.webhook_secret).verify(first.body, first.headers)).not.toThrow();

      const rotated = JSON.parse(await keys("rotate-webhook-secret", created.id, "--json")) as { webhook_secret: string };
      expect(rotated.webhook_secret).not.toBe(created.webhook_secret);
      const second = await runJob();
      expect(() => new Webhook(rotated.webhook_secret).verify(second.body, second.headers)).not.toThrow();
      expect(() => new Webhook(created.webhook_secret).verify(second.body, second.headers)).toThrow();
    } finally {
      await hooks.close();
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

  it("a browser token survives every refused upgrade (bad model, no upgrade header, session limit) and then opens exactly one session", async () => {
    const carol = await createKey("carol");
    const token = await issueToken(carol.key);
    expect(await rejectStatus(connect(wsUrl(`model=nope&token=${token}`)))).toBe(400);
    expect(await rejectStatus(connect(wsUrl(`sample_rate=7&token=${token}`)))).toBe(400);
    // A plain GET with session parameters is an upgrade that lost its header: 426. A bare GET is the
    // caller's session list, a REST route, where a browser token is refused (401) and not spent.
    const plain = await getJson(`${stack.url}/v1/audio/transcriptions/stream?language=en&token=${token}`);
    expect(plain.status).toBe(426);
    expect(plain.body).toMatchObject({ error: { code: "upgrade_required" } });
    expect((await getJson(`${stack.url}/v1/audio/transcriptions/stream?token=${token}`)).status).toBe(401);
    // The key is at MAX_CONCURRENT_SESSIONS_PER_KEY (2): refused with 429, token kept.
    const first = await connect(wsUrl(), bearer(carol.key));
    await first.next("session.begin");
    const second = await connect(wsUrl(), bearer(carol.key));
    await second.next("session.begin");
    expect(await rejectStatus(connect(wsUrl(`token=${token}`)))).toBe(429);
    await endSession(first);
    // The slot comes back once the ended session has released it; until then the token is refused (429) and kept.
    const opened = await eventually(
      () => connect(wsUrl(`token=${token}`)).catch((err: { status?: number }) => (err.status === 429 ? null : Promise.reject(err))),
      15_000,
    );
    const begin = await opened.next("session.begin");
    await endSession(opened);
    await endSession(second);
    expect(await rejectStatus(connect(wsUrl(`token=${token}`)))).toBe(401);
    expect((await fetch(`${stack.url}/v1/audio/transcriptions/stream/${begin.session_id}`, { headers: bearer(carol.key) })).status).toBe(200);
  });

  it("a browser token opens WebSocket sessions only: REST routes answer 401 and leave it unspent", async () => {
    const token = await issueToken(alice.key);
    const rest: [string, RequestInit][] = [
      ["/v1/audio/transcriptions/job_00000000000000000000000000000000", { headers: bearer(token) }],
      ["/v1/audio/transcriptions/stream/sess_00000000000000000000000000000000", { headers: bearer(token) }],
      ["/v1/auth/tokens", { method: "POST", headers: bearer(token) }],
      [`/v1/audio/transcriptions/job_00000000000000000000000000000000?token=${token}`, {}],
    ];
    for (const [p, init] of rest) {
      const res = await getJson(`${stack.url}${p}`, init);
      expect(res.status, p).toBe(401);
      expect(res.body, p).toMatchObject({ error: { code: "unauthorized" } });
    }
    const client = await connect(wsUrl(`token=${token}`));
    await client.next("session.begin");
    await endSession(client);
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

  it("resume is for the key that opened the session: another key gets 404, exactly like an unknown id", async () => {
    const client = await connect(wsUrl(), bearer(alice.key));
    const begin = await client.next("session.begin");
    const resume = (id: string, key: string) =>
      connect(`${wsUrl().split("?")[0]}/${id}/resume?resume_token=${begin.resume_token}`, bearer(key)).catch((err: { status: number; body: string }) => err);
    const other = (await resume(begin.session_id, bob.key)) as { status: number; body: string };
    const unknown = (await resume(`sess_${"e".repeat(32)}`, bob.key)) as { status: number; body: string };
    expect(other.status).toBe(404);
    expect(other.body).toBe(unknown.body);
    // Without credentials: 401, before anything else is looked at.
    expect(((await connect(`${wsUrl().split("?")[0]}/${begin.session_id}/resume?resume_token=${begin.resume_token}`).catch((e: { status: number }) => e)) as { status: number }).status).toBe(401);
    // The owner resumes (the takeover of the first connection itself is covered in resume.test.ts).
    const again = await connect(`${wsUrl().split("?")[0]}/${begin.session_id}/resume?resume_token=${begin.resume_token}`, bearer(alice.key));
    await again.next("session.resumed");
    client.ws.terminate();
    await endSession(again);
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
