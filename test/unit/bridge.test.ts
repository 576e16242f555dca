// The bridge is only useful if the real @upstash/redis client cannot tell it from Upstash,
// so these tests drive it through that client against a real redis-server.
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type BridgeHandle } from "../../tools/bridge/server.js";
import { createRespClient, RespError, RespParser, startRedis, type RedisHandle } from "../../tools/stack/redis.js";

const TOKEN = "test-token";
let redisServer: RedisHandle;
let bridge: BridgeHandle;
let redis: Redis;

const client = (extra: Partial<RedisConfigNodejs> = {}) =>
  new Redis({ url: bridge.url, token: TOKEN, retry: { retries: 0 }, enableTelemetry: false, ...extra });

const key = (() => {
  let n = 0;
  return (name: string) => `t:${process.pid}:${n++}:${name}`;
})();

beforeAll(async () => {
  redisServer = await startRedis({ port: 0 });
  bridge = await startBridge({ redisPort: redisServer.port, token: TOKEN });
  redis = client();
}, 120_000); // a first run may have to apt-get install redis-server

afterAll(async () => {
  await bridge?.close();
  await redisServer?.stop();
});

describe("RESP client", () => {
  it("matches replies to concurrent calls in order", async () => {
    const c = createRespClient(redisServer.port);
    try {
      const k = key("resp");
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => c.send(["SET", `${k}:${i}`, Buffer.from([i, 0, 255])])),
      );
      expect(replies.every((r) => r === "OK")).toBe(true);
      const values = await Promise.all(Array.from({ length: 50 }, (_, i) => c.send(["GET", `${k}:${i}`])));
      values.forEach((v, i) => expect(v).toEqual(Buffer.from([i, 0, 255])));
      expect(await c.send(["GET", `${k}:missing`])).toBeNull();
      expect(await c.send(["INCRBY", `${k}:n`, "5"])).toBe(5);
      expect(await c.send(["NOSUCHCOMMAND"])).toBeInstanceOf(RespError);
    } finally {
      await c.close();
    }
  });

  it("parses replies split at every byte boundary", () => {
    const wire = Buffer.from("+OK\r\n:-7\r\n$-1\r\n*2\r\n$3\r\nabc\r\n*1\r\n-ERR bad\r\n$0\r\n\r\n");
    const parser = new RespParser();
    const out = [...wire].flatMap((byte) => parser.push(Buffer.from([byte])));
    expect(out).toEqual(["OK", -7, null, [Buffer.from("abc"), [new RespError("ERR bad")]], Buffer.alloc(0)]);
  });
});

describe("Upstash REST bridge via @upstash/redis", () => {
  it("round-trips strings, including unicode and binary-looking ones", async () => {
    // Not "null"/"true"/"123": the client JSON-parses every result, so those would come back typed.
    const samples = ["hello", "grüße 🎙️ 日本語", "\u0000\u0001\u00ff\u007f", "T0s=", "OK", "{not json", " spaced ", ""];
    for (const value of samples) {
      const k = key("str");
      expect(await redis.set(k, value)).toBe("OK");
      expect(await redis.get(k)).toBe(value);
    }
  });

  it("returns null for a missing key", async () => {
    expect(await redis.get(key("missing"))).toBeNull();
  });

  it("keeps numbers and JSON values typed the way the client expects", async () => {
    const k = key("num");
    await redis.set(k, 42);
    expect(await redis.get(k)).toBe(42);
    await redis.set(k, "007"); // not a canonical number, so the client must keep it a string
    expect(await redis.get(k)).toBe("007");
    await redis.set(k, { a: 1, b: ["x"] });
    expect(await redis.get(k)).toEqual({ a: 1, b: ["x"] });
    expect(await redis.incr(key("counter"))).toBe(1);
  });

  it("hset / hgetall / hincrby", async () => {
    const k = key("hash");
    expect(await redis.hset(k, { name: "Ada", city: "Zürich", visits: 3 })).toBe(3);
    expect(await redis.hgetall(k)).toEqual({ name: "Ada", city: "Zürich", visits: 3 });
    expect(await redis.hincrby(k, "visits", 4)).toBe(7);
    expect(await redis.hget(k, "visits")).toBe(7);
    expect(await redis.hgetall(key("nohash"))).toBeNull();
  });

  it("expire / ttl / del / exists", async () => {
    const k = key("ttl");
    await redis.set(k, "v");
    expect(await redis.ttl(k)).toBe(-1);
    expect(await redis.expire(k, 100)).toBe(1);
    const ttl = await redis.ttl(k);
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.exists(k, key("nope"))).toBe(1);
    expect(await redis.del(k)).toBe(1);
    expect(await redis.exists(k)).toBe(0);
    expect(await redis.ttl(k)).toBe(-2);
  });

  it("pipeline", async () => {
    const k = key("pipe");
    const result = await redis
      .pipeline()
      .set(k, "a")
      .get(k)
      .hset(`${k}:h`, { f: "v" })
      .hgetall(`${k}:h`)
      .incr(`${k}:n`)
      .get(`${k}:none`)
      .ping()
      .exec();
    expect(result).toEqual(["OK", "a", 1, { f: "v" }, 1, null, "PONG"]);
  });

  it("pipeline reports a failing command without hiding the others", async () => {
    const k = key("pipe-err");
    await redis.set(k, "not a number");
    const result = await redis.pipeline().get(k).incr(k).set(`${k}:2`, "x").exec({ keepErrors: true });
    expect(result[0]).toEqual({ result: "not a number", error: undefined });
    expect(result[1]?.error).toMatch(/ERR value is not an integer/);
    expect(result[2]).toEqual({ result: "OK", error: undefined });
    await expect(redis.pipeline().incr(k).exec()).rejects.toThrow(/Command 1 \[ incr \] failed: ERR value is not an integer/);
  });

  it("multi / exec", async () => {
    const k = key("multi");
    const result = await redis.multi().set(k, "1").incr(k).get(k).hset(`${k}:h`, { a: "b" }).exec();
    expect(result).toEqual(["OK", 2, 2, 1]);
  });

  it("multi with a command rejected at queue time discards the whole transaction", async () => {
    const k = key("multi-abort");
    // hset with no fields is sent as ["hset", key]: wrong arity, which redis rejects while queueing.
    const tx = redis.multi().set(k, "should-not-exist").hset(`${k}:h`, {});
    await expect(tx.exec()).rejects.toThrow(/wrong number of arguments/);
    expect(await redis.exists(k)).toBe(0);
  });

  it("automatic pipelining batches concurrent commands into one request", async () => {
    const auto = client({ enableAutoPipelining: true });
    const k = key("auto");
    // The client keeps separate read and write batches, so each burst below is one request.
    // pipelineCounter lives on the auto-pipelining proxy and is missing from the public types.
    const requests = () => (auto as unknown as { pipelineCounter: number }).pipelineCounter;
    const before = requests();
    const writes = await Promise.all([auto.set(k, "v"), auto.incr(`${k}:n`), auto.hset(`${k}:h`, { x: 1 })]);
    expect(writes).toEqual(["OK", 1, 1]);
    expect(requests() - before).toBe(1);
    const reads = await Promise.all([auto.get(k), auto.hgetall(`${k}:h`), auto.get(`${k}:missing`), auto.echo("hi")]);
    expect(reads).toEqual(["v", { x: 1 }, null, "hi"]);
    expect(requests() - before).toBe(2);
  });

  it("works with responseEncoding: false", async () => {
    const plain = client({ responseEncoding: false });
    const k = key("plain");
    expect(await plain.set(k, "grüße 🎙️")).toBe("OK");
    expect(await plain.get(k)).toBe("grüße 🎙️");
    await plain.hset(`${k}:h`, { a: "1", b: "zwei" });
    expect(await plain.hgetall(`${k}:h`)).toEqual({ a: 1, b: "zwei" });
    expect(await plain.pipeline().get(k).ping().exec()).toEqual(["grüße 🎙️", "PONG"]);
    expect(await plain.get(key("missing"))).toBeNull();
  });

  it("surfaces redis errors as thrown errors carrying the ERR message", async () => {
    const k = key("err");
    await redis.set(k, "abc");
    await expect(redis.incr(k)).rejects.toThrow(/ERR value is not an integer or out of range/);
  });

  it("rejects a bad token with 401", async () => {
    const bad = new Redis({ url: bridge.url, token: "wrong", retry: { retries: 0 }, enableTelemetry: false });
    await expect(bad.get("x")).rejects.toThrow(/Unauthorized/);
    const res = await fetch(bridge.url, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(res.status).toBe(401);
  });

  it("failNext(2) fails exactly two calls, then recovers", async () => {
    bridge.failNext(2);
    await expect(redis.ping()).rejects.toThrow(/bridge: injected failure/);
    await expect(redis.ping()).rejects.toThrow(/bridge: injected failure/);
    expect(await redis.ping()).toBe("PONG");
  });

  it("fail-next and reset are controllable over HTTP", async () => {
    const control = (path: string, body?: unknown) =>
      fetch(`${bridge.url}/__bridge/${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await control("fail-next", { count: 1, status: 500 })).status).toBe(200);
    const failed = await fetch(bridge.url, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(["PING"]),
    });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: "bridge: injected failure" });
    await control("fail-next", { count: 5 });
    await control("reset");
    expect(await redis.ping()).toBe("PONG");
  });

  it("hold keeps Redis requests waiting (control paths still answer) until release", async () => {
    const control = async (path: string) =>
      (await (await fetch(`${bridge.url}/__bridge/${path}`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as {
        result: unknown;
      };
    await control("hold");
    let answered = false;
    const ping = redis.ping().then((v) => {
      answered = true;
      return v;
    });
    // Waits are derived from what the bridge reports, not from a guess of how long a request takes.
    for (let i = 0; i < 200 && (await control("held")).result !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await control("held")).result).toBe(1);
    expect(answered).toBe(false);
    expect((await control("release")).result).toBe(1);
    expect(await ping).toBe("PONG");
    expect(await redis.ping()).toBe("PONG");
  });

  it("answers bad JSON with 400", async () => {
    const res = await fetch(bridge.url, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: "[oops" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "ERR invalid JSON body" });
  });

  it("handles 200 concurrent commands correctly", async () => {
    const k = key("load");
    const ids = Array.from({ length: 200 }, (_, i) => i);
    const writes = await Promise.all(ids.map((i) => redis.set(`${k}:${i}`, `value-${i}-ü`)));
    expect(writes.every((w) => w === "OK")).toBe(true);
    const reads = await Promise.all(ids.map((i) => redis.get(`${k}:${i}`)));
    expect(reads).toEqual(ids.map((i) => `value-${i}-ü`));
    const incrs = await Promise.all(ids.map(() => redis.incr(`${k}:counter`)));
    expect([...incrs].sort((a, b) => a - b)).toEqual(ids.map((i) => i + 1));
  });
});
