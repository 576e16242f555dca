/**
 * `GET /openapi.json` against the real stack: the document parses, names every
 * route, its stream parameters are exactly what `streamParamsSchema` validates,
 * every documented operation is routed by this build, and real responses match
 * the declared response schemas (no missing and no undocumented fields).
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { deepgramLiveSchema, deepgramPrerecordedSchema } from "../../src/protocol/deepgram/params";
import { streamParamsSchema, uploadOptionsSchema } from "../../src/protocol/params";
import { conversation, pcmBytes } from "../../tools/fixtures/synth";
import { eventually, getJson } from "../helpers/http";
import { connect, sendInFrames } from "../helpers/ws-client";

type Schema = Record<string, unknown>;
interface Operation {
  parameters?: { name: string; in: string; schema: Schema }[];
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  requestBody?: { content: Record<string, { schema: Schema & { properties: Record<string, Schema> } }> };
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema> };
}

const service = () => inject("serviceUrl");
const STREAM = "/v1/audio/transcriptions/stream";

/** Every route of the gateway, as `METHOD path`. */
const ROUTES = [
  "GET /health",
  "GET /openapi.json",
  "POST /v1/auth/tokens",
  `GET ${STREAM}`,
  `GET ${STREAM}/{session_id}`,
  `GET ${STREAM}/{session_id}/audio`,
  `GET ${STREAM}/{session_id}/enhancement`,
  `GET ${STREAM}/{session_id}/transcript`,
  `GET ${STREAM}/{session_id}/resume`,
  "POST /v1/audio/transcriptions",
  "GET /v1/audio/transcriptions/{job_id}",
  "GET /v1/listen",
  "POST /v1/listen",
];
let doc: Doc;

beforeAll(async () => {
  const res = await fetch(`${service()}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  doc = (await res.json()) as Doc;
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })));
const op = (key: string) => operations().find((o) => o.key === key)!.op;

/* A small JSON Schema checker for the subset zod emits, closed over unknown properties. */
function resolve(schema: Schema): Schema {
  const ref = schema.$ref as string | undefined;
  if (!ref) return schema;
  const target = doc.components.schemas[ref.replace("#/components/schemas/", "")];
  if (!target) throw new Error(`unresolved $ref ${ref}`);
  return resolve(target);
}

function conform(schema: Schema, value: unknown, path = "$", errors: string[] = []): string[] {
  const s = resolve(schema);
  if (Array.isArray(s.anyOf)) {
    if (!(s.anyOf as Schema[]).some((alt) => conform(alt, value, path).length === 0)) errors.push(`${path}: ${JSON.stringify(value)} matches no alternative`);
    return errors;
  }
  if ("const" in s && value !== s.const) errors.push(`${path}: expected ${JSON.stringify(s.const)}, got ${JSON.stringify(value)}`);
  if (Array.isArray(s.enum) && !s.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.type !== undefined) {
    const types = ([] as string[]).concat(s.type as string | string[]);
    const isType = (t: string) =>
      t === "null" ? value === null
      : t === "integer" ? Number.isInteger(value)
      : t === "array" ? Array.isArray(value)
      : t === "object" ? typeof value === "object" && value !== null && !Array.isArray(value)
      : typeof value === t;
    if (!types.some(isType)) {
      errors.push(`${path}: expected ${types.join(" | ")}, got ${JSON.stringify(value)}`);
      return errors;
    }
  }
  if (typeof value === "string" && typeof s.pattern === "string" && !new RegExp(s.pattern).test(value)) errors.push(`${path}: does not match ${s.pattern}`);
  if (Array.isArray(value) && s.items) value.forEach((v, i) => conform(s.items as Schema, v, `${path}[${i}]`, errors));
  if (typeof value === "object" && value !== null && !Array.isArray(value) && (s.properties || s.type === "object")) {
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const name of (s.required as string[] | undefined) ?? []) if (!(name in value)) errors.push(`${path}.${name}: required, missing`);
    for (const [name, v] of Object.entries(value)) {
      if (props[name]) conform(props[name], v, `${path}.${name}`, errors);
      else if (s.additionalProperties === undefined || s.additionalProperties === false) errors.push(`${path}.${name}: not in the document`);
    }
  }
  return errors;
}

/** The schema the document declares for one response. */
const responseSchema = (key: string, status: number, type = "application/json") => {
  const schema = op(key).responses[String(status)]?.content?.[type]?.schema;
  if (!schema) throw new Error(`${key} documents no ${status} ${type} body`);
  return schema;
};

/** A GET with an Upgrade header (fetch refuses to send one), answered without upgrading. */
function upgradeGet(url: string, upgrade: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Upgrade: upgrade, Connection: "Upgrade" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode })));
    });
    req.on("upgrade", () => reject(new Error("unexpected upgrade")));
    req.on("error", reject);
  });
}

async function expectDocumented(key: string, res: Response): Promise<unknown> {
  expect(Object.keys(op(key).responses), `${key} documents ${res.status}`).toContain(String(res.status));
  const body = await res.json();
  expect(conform(responseSchema(key, res.status), body), `${key} ${res.status}: ${JSON.stringify(body)}`).toEqual([]);
  return body;
}

describe("OpenAPI document (e2e)", () => {
  it("is an OpenAPI 3.1 document whose references all resolve", () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBe("edge-transcribe");
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(() => resolve({ $ref: ref.slice(8, -1) })).not.toThrow();
    for (const { key, op: o } of operations()) {
      expect(Object.keys(o.responses).length, key).toBeGreaterThan(0);
      for (const p of o.parameters ?? []) if (p.in === "path") expect(key).toContain(`{${p.name}}`);
    }
  });

  it("lists every route, with the statuses each one answers", () => {
    expect(operations().map((o) => o.key).sort()).toEqual([...ROUTES].sort());
    const statuses = (key: string) => Object.keys(op(key).responses);
    expect(statuses(`GET ${STREAM}`)).toEqual(expect.arrayContaining(["101", "200", "400", "426"]));
    expect(statuses(`GET ${STREAM}/{session_id}/transcript`)).toEqual(expect.arrayContaining(["200", "404", "409"]));
    expect(Object.keys(op("GET /v1/audio/transcriptions/{job_id}").responses[200]!.content!)).toEqual(
      expect.arrayContaining(["application/json", "application/x-subrip", "text/vtt", "text/plain"]),
    );
    expect(statuses(`GET ${STREAM}/{session_id}/audio`)).toEqual(expect.arrayContaining(["200", "206", "404"]));
    expect(statuses("POST /v1/audio/transcriptions")).toEqual(expect.arrayContaining(["201", "413", "415"]));
    expect(statuses(`GET ${STREAM}/{session_id}`)).toEqual(expect.arrayContaining(["200", "404"]));
    expect(statuses(`GET ${STREAM}/{session_id}/resume`)).toEqual(expect.arrayContaining(["101", "400", "401", "404", "409", "410", "426"]));
    expect(statuses("GET /v1/audio/transcriptions/{job_id}")).toEqual(expect.arrayContaining(["200", "404"]));
    const upload = op("POST /v1/audio/transcriptions").requestBody!.content["multipart/form-data"]!.schema;
    expect(upload.required).toEqual(["file"]);
    expect(Object.keys(upload.properties)).toContain("file");
    const error = resolve(doc.components.schemas.Error!) as { properties: { error: Schema } };
    expect(((error.properties.error as { properties: { code: Schema } }).properties.code.enum as string[])).toEqual(
      expect.arrayContaining(["invalid_request", "not_found", "too_large", "unsupported_media_type", "upgrade_required", "internal_error", "unavailable"]),
    );
  });

  it("documents exactly the stream parameters streamParamsSchema validates, as it generates them", () => {
    const HISTORY = ["limit", "cursor", "owner"];
    const documented = op(`GET ${STREAM}`).parameters!.filter((p) => p.in === "query" && !HISTORY.includes(p.name));
    expect(documented.map((p) => p.name).sort()).toEqual(Object.keys(streamParamsSchema.shape).sort());
    expect(op(`GET ${STREAM}`).parameters!.filter((p) => HISTORY.includes(p.name)).map((p) => p.name)).toEqual(HISTORY);
    const generated = (z.toJSONSchema(streamParamsSchema, { io: "input" }) as { properties: Record<string, Schema> }).properties;
    for (const p of documented) {
      const { default: _default, ...schema } = p.schema;
      expect(schema, p.name).toEqual(generated[p.name]);
    }
    // Defaults are what the validator fills in for an empty query.
    const byName = Object.fromEntries(documented.map((p) => [p.name, p.schema.default]));
    expect(byName).toMatchObject({ sample_rate: "16000", encoding: "pcm_s16le", language: "auto", interim_results: "true", enhance_on_end: "false" });
    // The upload's form fields: exactly what uploadOptionsSchema validates, plus `file`.
    const upload = op("POST /v1/audio/transcriptions").requestBody!.content["multipart/form-data"]!.schema.properties;
    const uploadGenerated = (z.toJSONSchema(uploadOptionsSchema, { io: "input" }) as { properties: Record<string, Schema> }).properties;
    expect(Object.keys(upload).sort()).toEqual(["file", ...Object.keys(uploadOptionsSchema.shape)].sort());
    for (const [name, generatedField] of Object.entries(uploadGenerated)) {
      const { description: _d, default: _f, ...field } = upload[name]!;
      expect(field, name).toEqual(generatedField);
    }
  });

  it("documents exactly the /v1/listen parameters the Deepgram validators take", () => {
    const names = (key: string) => op(key).parameters!.filter((p) => p.in === "query").map((p) => p.name).sort();
    expect(names("GET /v1/listen")).toEqual(Object.keys(deepgramLiveSchema.shape).sort());
    expect(names("POST /v1/listen")).toEqual(Object.keys(deepgramPrerecordedSchema.shape).sort());
  });

  it("every documented operation is routed by this build", async () => {
    const probe = async (method: string, path: string) => {
      const url = `${service()}${path.replace("{session_id}", `sess_${"0".repeat(32)}`).replace("{job_id}", `job_${"0".repeat(32)}`)}`;
      const res = await fetch(url, { method });
      const body = await res.text();
      return !(res.status === 404 && body.includes("no route for"));
    };
    const routed: string[] = [];
    for (const { key, method, path } of operations()) if (await probe(method.toUpperCase(), path)) routed.push(key);
    expect(routed.sort()).toEqual(operations().map((o) => o.key).sort());
  });

  it("real responses match the declared schemas", async () => {
    const base = service();
    await expectDocumented("GET /health", await fetch(`${base}/health`));
    await expectDocumented("POST /v1/auth/tokens", await fetch(`${base}/v1/auth/tokens`, { method: "POST" }));

    // Refusals before the upgrade.
    const bad = (await expectDocumented(`GET ${STREAM}`, await upgradeGet(`${base}${STREAM}?sample_rate=5`, "websocket"))) as { error: { param: string } };
    expect(bad.error.param).toBe("sample_rate");
    await expectDocumented(`GET ${STREAM}`, await fetch(`${base}${STREAM}?limit=3`)); // 200: the session list
    await expectDocumented(`GET ${STREAM}`, await upgradeGet(`${base}${STREAM}`, "h2c")); // 426
    await expectDocumented("GET /v1/listen", await fetch(`${base}/v1/listen?channels=2`)); // 400, Deepgram's body
    await expectDocumented("GET /v1/listen", await fetch(`${base}/v1/listen`)); // 426
    await expectDocumented("POST /v1/listen", await fetch(`${base}/v1/listen`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"url":"https://example.com/a.wav"}' })); // 400
    await expectDocumented(`GET ${STREAM}/{session_id}`, await fetch(`${base}${STREAM}/sess_${"0".repeat(32)}`)); // 404
    await expectDocumented("GET /v1/audio/transcriptions/{job_id}", await fetch(`${base}/v1/audio/transcriptions/job_nope`)); // 404

    // A real session with enhancement.
    const client = await connect(`${base.replace("http", "ws")}${STREAM}?enhance_on_end=true&enhance_llm_cleanup=true&enhance_emotions=true&word_timestamps=true`);
    const begin = await client.next("session.begin");
    const id = begin.session_id;
    await sendInFrames(client, pcmBytes(conversation({ turns: [{ f0: 110, seconds: 1.2 }, { f0: 220, seconds: 1.2 }], gapSeconds: 0.6 })), 3200);
    await expectDocumented(`GET ${STREAM}/{session_id}`, await fetch(`${base}${STREAM}/${id}`)); // active
    await client.sendJson({ type: "end" });
    const end = await client.next("session.end", 15_000);
    await client.closed;

    await expectDocumented(`GET ${STREAM}/{session_id}`, await fetch(`${base}${STREAM}/${id}`)); // ended, with transcript
    const enhancement = await eventually(async () => {
      const r = await getJson<{ status: string }>(`${base}${STREAM}/${id}/enhancement`);
      return ["completed", "failed"].includes(r.body.status) ? r.body : null;
    }, 60_000, 500);
    expect(conform(responseSchema(`GET ${STREAM}/{session_id}/enhancement`, 200), enhancement)).toEqual([]);
    expect(enhancement.status).toBe("completed");
    await expectDocumented("GET /v1/audio/transcriptions/{job_id}", await fetch(`${base}/v1/audio/transcriptions/${end.enhancement_job_id}`));
    await expectDocumented("GET /v1/audio/transcriptions/{job_id}", await fetch(`${base}/v1/audio/transcriptions/${end.enhancement_job_id}?format=json`));
    await expectDocumented(`GET ${STREAM}/{session_id}/transcript`, await fetch(`${base}${STREAM}/${id}/transcript?version=enhanced`));
    await expectDocumented(`GET ${STREAM}/{session_id}/transcript`, await fetch(`${base}${STREAM}/${id}/transcript?version=live`));
    await expectDocumented(`GET ${STREAM}/{session_id}/transcript`, await fetch(`${base}${STREAM}/sess_${"0".repeat(32)}/transcript`)); // 404
    await expectDocumented(`GET ${STREAM}`, await fetch(`${base}${STREAM}?limit=3`)); // with this session in it

    const audio = await eventually(async () => {
      const r = await fetch(`${base}${STREAM}/${id}/audio`);
      return r.status === 200 ? r : (await r.arrayBuffer(), null);
    });
    expect(Object.keys(op(`GET ${STREAM}/{session_id}/audio`).responses[200]!.content!)).toContain(audio.headers.get("content-type"));
    await audio.arrayBuffer();
    const range = await fetch(`${base}${STREAM}/${id}/audio`, { headers: { Range: "bytes=0-43" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toMatch(/^bytes 0-43\/\d+$/);
    await range.arrayBuffer();
    await expectDocumented(`GET ${STREAM}/{session_id}/audio`, await fetch(`${base}${STREAM}/sess_${"0".repeat(32)}/audio`)); // 404

    // Uploads.
    const UPLOAD = "POST /v1/audio/transcriptions";
    const wav = new Blob([readFileSync(path.resolve(import.meta.dirname, "../../samples/conversation.wav"))], { type: "audio/wav" });
    const form = new FormData();
    form.set("file", wav, "conversation.wav");
    form.set("enhance_emotions", "true");
    const created = (await expectDocumented(UPLOAD, await fetch(`${base}/v1/audio/transcriptions`, { method: "POST", body: form }))) as { id: string };
    await expectDocumented("GET /v1/audio/transcriptions/{job_id}", await fetch(`${base}/v1/audio/transcriptions/${created.id}`));
    const notWav = new FormData();
    notWav.set("file", new Blob(["hello, not audio"], { type: "text/plain" }), "notes.txt");
    const refused = await fetch(`${base}/v1/audio/transcriptions`, { method: "POST", body: notWav });
    expect(refused.status).toBe(415);
    await expectDocumented(UPLOAD, refused);
    const badField = new FormData();
    badField.set("file", wav, "conversation.wav");
    badField.set("num_speakers", "99");
    expect(((await expectDocumented(UPLOAD, await fetch(`${base}/v1/audio/transcriptions`, { method: "POST", body: badField }))) as { error: { param: string } }).error.param).toBe("num_speakers");
  });
});
