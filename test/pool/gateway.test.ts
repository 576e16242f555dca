import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, STREAM_PATH, getJson } from "./client";

describe("gateway", () => {
  it("GET /health says ok and names the engines", async () => {
    const { status, body } = await getJson<{ status: string; engines: { realtime: { engine: string } } }>("/health");
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.engines.realtime.engine).toBe("native");
  });

  it("unknown routes get the 404 error JSON", async () => {
    const { status, body } = await getJson("/nope");
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });

  it("a plain GET of the stream endpoint lists sessions; an Upgrade other than websocket gets 426", async () => {
    const list = await SELF.fetch(`${BASE}${STREAM_PATH}`);
    expect(list.status).toBe(200);
    const page = (await list.json()) as { sessions: unknown[] };
    expect(page).toHaveProperty("next_cursor");
    expect(Array.isArray(page.sessions)).toBe(true);
    const res = await SELF.fetch(`${BASE}${STREAM_PATH}`, { headers: { Upgrade: "h2c" } });
    expect(res.status).toBe(426);
    // Session parameters without the upgrade: the answer the upgrade would have had (426 here, else the 400).
    expect((await SELF.fetch(`${BASE}${STREAM_PATH}?encoding=mulaw`)).status).toBe(426);
    expect((await SELF.fetch(`${BASE}${STREAM_PATH}?encoding=mp3`)).status).toBe(400);
    expect(res.headers.get("upgrade")).toBe("websocket");
    expect(await res.json()).toMatchObject({ error: { code: "upgrade_required" } });
  });

  const invalid: [string, string][] = [
    ["encoding=mp3", "encoding"],
    ["sample_rate=7999", "sample_rate"],
    ["sample_rate=48001", "sample_rate"],
    ["sample_rate=16k", "sample_rate"],
    ["sample_rate=16000.5", "sample_rate"],
    ["interim_results=yes", "interim_results"],
    ["word_timestamps=TRUE", "word_timestamps"],
    ["enable_vad=2", "enable_vad"],
    ["enhance_on_end=on", "enhance_on_end"],
    ["num_speakers=0&enhance_on_end=true", "num_speakers"],
    ["num_speakers=33&enhance_on_end=true", "num_speakers"],
    ["enhance_llm_cleanup=true", "enhance_llm_cleanup"],
    ["enhance_emotions=1&enhance_on_end=false", "enhance_emotions"],
    ["num_speakers=2", "num_speakers"],
    // Deployments (no WEBHOOK_ALLOW_LOCAL_URLS): https to public hosts only.
    ["enhance_on_end=true&enhance_webhook_url=http%3A%2F%2Fhooks.example.com%2F", "enhance_webhook_url"],
    ["enhance_on_end=true&enhance_webhook_url=https%3A%2F%2F127.0.0.1%2Fhook", "enhance_webhook_url"],
    ["await_enhancement=true", "await_enhancement"],
    ["model=whisper-9000", "model"],
    ["language=en_US!", "language"],
    // Over the documented caps (MAX_LANGUAGE_LENGTH 35, MAX_MODEL_LENGTH 100, MAX_CREDENTIAL_LENGTH 512).
    ["language=en-abcdefgh-abcdefgh-abcdefgh-abcdef", "language"],
    [`language=en${"-abcdefgh".repeat(6000)}`, "language"],
    [`model=${"m".repeat(101)}`, "model"],
    [`api_key=${"k".repeat(513)}`, "api_key"],
    ["encoding=pcm_s16le&encoding=mulaw", "encoding"],
  ];
  const cases = invalid.map(([query, param]) => ({ query, param, shown: query.length > 40 ? `${query.split("=")[0]}=… (${query.length} chars)` : query }));
  it.each(cases)("refuses $shown with 400 naming $param, before any upgrade", async ({ query, param }) => {
    const res = await SELF.fetch(`${BASE}${STREAM_PATH}?${query}`, { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(400);
    expect(res.webSocket).toBeNull();
    const body = (await res.json()) as { error: { code: string; message: string; param: string } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.param).toBe(param);
    expect(body.error.message).toContain(param);
  });

  it("ignores unknown parameters and accepts every valid combination", async () => {
    const res = await SELF.fetch(
      `${BASE}${STREAM_PATH}?foo=bar&encoding=mulaw&sample_rate=8000&interim_results=0&word_timestamps=1&enable_vad=false&enhance_on_end=true&enhance_llm_cleanup=true&enhance_emotions=true&num_speakers=2&language=en-US&model=emulator-realtime`,
      { headers: { Upgrade: "websocket" } },
    );
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close(1000);
  });

  it("accepts a language tag of exactly 35 characters, the cap", async () => {
    const res = await SELF.fetch(`${BASE}${STREAM_PATH}?language=en-abcdefgh-abcdefgh-abcdefgh-abcde`, { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close(1000);
  });

  it.each([
    "/v1/audio/transcriptions/stream/sess_unknown",
    "/v1/audio/transcriptions/stream/sess_00000000000000000000000000000000",
    "/v1/audio/transcriptions/stream/sess_00000000000000000000000000000000/audio",
    "/v1/audio/transcriptions/stream/sess_00000000000000000000000000000000/enhancement",
    "/v1/audio/transcriptions/stream/..%2F..%2Fjobs/audio",
    "/v1/audio/transcriptions/job_00000000000000000000000000000000",
    "/v1/audio/transcriptions/job_..",
  ])("GET %s of something that does not exist is a 404 error JSON", async (path) => {
    const { status, body } = await getJson(path);
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: { code: "not_found" } });
  });
});
