/**
 * The enhancement pipeline inside workerd: real (local) R2 and real Redis
 * behind the bridge; batch and LLM engines are the emulator over HTTP, or
 * stand-ins for Workers AI (`env.AI`) returning real-shaped responses
 * (fixtures/nova3.ts lists where the shapes come from), or stand-in
 * transcribers for chunking.
 */
import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { readConfig, type AppEnv } from "../../src/config";
import { ElevenLabsTranscriber, EngineError, engineErrorFromWorkersAi, type BatchAudio, type BatchTranscription } from "../../src/engines/batch";
import { LlmOutputError, OpenAiCompatibleLlm, type LlmClient } from "../../src/engines/llm";
import { WAV_HEADER_BYTES, parseWav, wavHeader } from "../../src/audio/wav";
import {
  CLEANUP_MAX_DRIFT,
  EMOTION_LABELS,
  FALLBACK_EMOTION,
  runJob,
  runJobWith,
  type EnhancedTranscript,
  type JobEngines,
} from "../../src/pipeline";
import { createUploadJob, UploadError } from "../../src/ingest/upload";
import { acceptCleaned, cleanupDrift, runCleanupStage } from "../../src/pipeline/cleanup";
import { runEmotionsStage, validateEmotion } from "../../src/pipeline/emotions";
import { validateSpeakerNames } from "../../src/pipeline/speakers";
import { buildSegments } from "../../src/pipeline/segments";
import type { ResultSegment } from "../../src/pipeline/result";
import { newJobId } from "../../src/store/ids";
import { r2Keys } from "../../src/store/keys";
import { jobMessage, type JobMessage, type JobParameters } from "../../src/store/records";
import { createRedis } from "../../src/store/redis";
import { Store } from "../../src/store/store";
import { eventually } from "./client";
import { conversation, s16Bytes, samplesOf, tonePcm, wav16k, wavFile, type Region } from "./fixtures/audio";
import {
  JSON_MODE_UNMET_ERRORS,
  NOVA3_CONVERSATION,
  nova3Response,
  nova3SchemaResponse,
  workersAiError,
  workersAiJson,
} from "./fixtures/nova3";
import { defaultParams, storeJob } from "./fixtures/jobs";
import { StandInAi, StandInTranscriber, SyntheticBucket, type AiCall } from "./fixtures/stand-ins";

const appEnv = env as AppEnv;
const store = new Store(createRedis(appEnv), readConfig(appEnv).store);
const LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";

function params(overrides: Partial<JobParameters> = {}): JobParameters {
  return { ...defaultParams(), ...overrides };
}

/** A job record (as the session object or the upload route writes it) and its queue message; `audio` goes to R2. */
async function newJob(audio: Uint8Array | null, parameters: JobParameters = params(), audioKey?: string): Promise<JobMessage> {
  return jobMessage(await storeJob(store, audio, parameters, audioKey));
}

async function resultOf(jobId: string): Promise<EnhancedTranscript> {
  const object = await env.RECORDINGS.get(r2Keys.jobResult(jobId));
  if (!object) throw new Error(`no result for ${jobId}`);
  return (await object.json()) as EnhancedTranscript;
}

const stageSaved = async (jobId: string, stage: string) => (await env.RECORDINGS.head(r2Keys.jobStage(jobId, stage))) !== null;

/** The worker's env with Workers AI engines answering through a stand-in. */
function workersAiEnv(ai: StandInAi, vars: Partial<AppEnv> = {}): AppEnv {
  return { ...appEnv, AI: ai as unknown as Ai, BATCH_ENGINE: "workers-ai", LLM_ENGINE: "workers-ai", LLM_MODEL: "", ...vars };
}

/** Answers for the Workers AI stand-in over NOVA3_CONVERSATION (segments 0..3, see the fixture). */
function conversationAnswers(call: AiCall): unknown {
  if (call.model === "@cf/deepgram/nova-3") return nova3Response(NOVA3_CONVERSATION, { detectedLanguage: "en" });
  const task = call.task!;
  const segments = task.segments as Array<{ id: number; text: string }>;
  switch (task.task) {
    case "speaker_names":
      return workersAiJson({
        speakers: [
          { id: "speaker_0", name: "Carol", evidence: "Hello, I'm Carol." },
          // Not in the transcript: must be rejected.
          { id: "speaker_1", name: "Dave", evidence: null },
        ],
      });
    case "cleanup":
      return workersAiJson({
        segments: segments.map((s) => ({ id: s.id, text: s.id === 2 ? "Sure, Carol. Let's go." : s.text })),
      });
    case "emotions":
      return workersAiJson({
        segments: segments.map((s) => (s.text === "Great!" ? { id: s.id, label: "joy", confidence: 0.9 } : { id: s.id, label: "neutral", confidence: 0.7 })),
      });
    default:
      throw new Error(`unexpected task ${task.task}`);
  }
}

const sevenSeconds = () => wav16k(tonePcm([{ gap: 0.3, seconds: 6, freq: 140 }]));

/* ------------------------------------------------------------------ */

describe("pipeline with the emulator (ElevenLabs-style STT + OpenAI-compatible LLM)", () => {
  it("runs every stage and writes the result, the record and the enhancements", async () => {
    const message = await newJob(wav16k(tonePcm(conversation(8))), params({ llm_cleanup: true, emotions: true }));
    await runJob(appEnv, store, message, 1);

    const job = (await store.getJob(message.job_id))!;
    expect(job).toMatchObject({ status: "completed", stage: "assemble", error: null, deliveries: 1, result_key: r2Keys.jobResult(message.job_id) });
    expect(job.started_at).toEqual(expect.any(String));
    expect(job.completed_at).toEqual(expect.any(String));

    const result = await resultOf(message.job_id);
    expect(result.segments).toHaveLength(8);
    expect(result.language_code).toBe("en");
    expect(result.duration).toBeCloseTo(0.5 + 1.5 + 7 * 2.7 + 0.5, 2);
    expect(result.segments.map((s) => s.speaker)).toEqual(["speaker_0", "speaker_1", "speaker_0", "speaker_1", "speaker_0", "speaker_1", "speaker_0", "speaker_1"]);
    expect(result.speakers).toEqual([
      { id: "speaker_0", name: "Alice", name_source: "self_introduction" },
      { id: "speaker_1", name: "Bob", name_source: "self_introduction" },
    ]);
    // Cleanup: only the filler-laden line changed, and keeps its raw text.
    expect(result.segments[2]).toMatchObject({ text: "So how was the weekend.", raw_text: "um so how was the uh weekend" });
    expect(result.segments[0]).toMatchObject({ text: "Hello, my name is Alice." });
    expect(result.segments[0]).not.toHaveProperty("raw_text");
    // Emotions (the emulator's keyword rules).
    expect(result.segments.map((s) => s.emotion?.label)).toEqual(["neutral", "neutral", "neutral", "joy", "surprise", "sadness", "anger", "neutral"]);
    // Words: timed inside their segment, speaker on every word, text from the words.
    for (const s of result.segments) {
      expect(s.words.length).toBeGreaterThan(0);
      expect(s.words.every((w) => w.speaker === s.speaker && w.start >= s.start && w.end <= s.end)).toBe(true);
      expect(s.words[0]!.confidence).toBeCloseTo(0.9, 2);
    }
    expect(result.text.startsWith("Hello, my name is Alice. Hi Alice, I am Bob. So how was the weekend.")).toBe(true);
    expect(result.enhancements).toEqual({
      transcribe: { status: "completed", engine: "elevenlabs", model: "emulator-scribe" },
      speakers: { status: "completed", engine: "openai", model: "emulator-chat", named: 2, rejected_names: 0 },
      cleanup: { status: "completed", engine: "openai", model: "emulator-chat", segments_changed: 1, segments_kept_raw: 0 },
      emotions: { status: "completed", engine: "openai", model: "emulator-chat", labels: [...EMOTION_LABELS], invalid: 0 },
    });
    // Stage outputs are cleaned up once the result exists.
    expect(await stageSaved(message.job_id, "transcribe")).toBe(false);
  });

  it("skips the optional stages with a reason when no LLM is configured", async () => {
    const message = await newJob(wav16k(tonePcm(conversation(4))), params({ llm_cleanup: true, emotions: true }));
    await runJob({ ...appEnv, LLM_ENGINE: "none" }, store, message, 1);
    const result = await resultOf(message.job_id);
    expect(result.speakers).toEqual([
      { id: "speaker_0", name: null, name_source: null },
      { id: "speaker_1", name: null, name_source: null },
    ]);
    expect(result.enhancements.speakers).toEqual({ status: "skipped", reason: expect.stringContaining("LLM") });
    expect(result.enhancements.cleanup).toMatchObject({ status: "skipped" });
    expect(result.enhancements.emotions).toMatchObject({ status: "skipped" });
    expect(result.segments.some((s) => "raw_text" in s || "emotion" in s)).toBe(false);
    expect((await store.getJob(message.job_id))!.status).toBe("completed");
  });

  it("reports stages the job did not ask for as not_requested", async () => {
    const message = await newJob(wav16k(tonePcm(conversation(2))));
    await runJob(appEnv, store, message, 1);
    const result = await resultOf(message.job_id);
    expect(result.enhancements.cleanup).toEqual({ status: "not_requested" });
    expect(result.enhancements.emotions).toEqual({ status: "not_requested" });
    expect(result.speakers.map((s) => s.name)).toEqual(["Alice", "Bob"]);
  });
});

/* ------------------------------------------------------------------ */

describe("pipeline with Workers AI engines (stand-in env.AI)", () => {
  it("runs each stage with nova-3 and a JSON-mode text model, recording the stage as it runs", async () => {
    const message = await newJob(sevenSeconds(), params({ llm_cleanup: true, emotions: true }));
    const seen: Array<[string, string | null, string]> = [];
    const ai = new StandInAi(async (call) => {
      const job = (await store.getJob(message.job_id))!;
      seen.push([call.task?.task ?? call.model, job.stage, job.status]);
      return conversationAnswers(call);
    });
    await runJob(workersAiEnv(ai), store, message, 1);

    expect(seen).toEqual([
      ["@cf/deepgram/nova-3", "transcribe", "processing"],
      ["speaker_names", "speakers", "processing"],
      ["cleanup", "cleanup", "processing"],
      ["emotions", "emotions", "processing"],
    ]);
    const nova = ai.calls[0]!;
    expect(nova.inputs).toMatchObject({ diarize: true, punctuate: true, smart_format: true, detect_language: true });
    expect(nova.inputs.audio).toMatchObject({ contentType: "audio/wav" });
    expect((nova.inputs.audio as { body: unknown }).body).toBeInstanceOf(ReadableStream);
    const llmCall = ai.calls[1]!;
    expect(llmCall.model).toBe(LLAMA);
    expect(llmCall.inputs).toMatchObject({ temperature: 0, response_format: { type: "json_schema" } });
    expect((llmCall.inputs.messages as Array<{ role: string }>).map((m) => m.role)).toEqual(["system", "user"]);
    expect(llmCall.task).toEqual({
      task: "speaker_names",
      segments: [
        { id: 0, speaker: "speaker_0", text: "Hello, I'm Carol." },
        { id: 1, speaker: "speaker_0", text: "Shall we start?" },
        { id: 2, speaker: "speaker_1", text: "Sure, Carol. Um, uh, let's go." },
        { id: 3, speaker: "speaker_0", text: "Great!" },
      ],
    });
    expect(ai.calls[3]!.task).toMatchObject({ task: "emotions", labels: [...EMOTION_LABELS] });
    // Emotions judge the cleaned text.
    expect((ai.calls[3]!.task!.segments as Array<{ text: string }>)[2]!.text).toBe("Sure, Carol. Let's go.");

    const result = await resultOf(message.job_id);
    expect(result.language_code).toBe("en");
    expect(result.segments.map((s) => [s.id, s.speaker, s.start, s.end])).toEqual([
      [0, "speaker_0", 0.32, 1.3],
      [1, "speaker_0", 2.7, 3.4], // a new segment after the 1.4 s pause
      [2, "speaker_1", 3.6, 5.5],
      [3, "speaker_0", 5.9, 6.3],
    ]);
    expect(result.segments[1]!.words[2]).toEqual({ word: "start?", start: 3.02, end: 3.4, confidence: 0.61, speaker: "speaker_0" });
    expect(result.segments[2]).toMatchObject({ text: "Sure, Carol. Let's go.", raw_text: "Sure, Carol. Um, uh, let's go." });
    expect(result.segments[2]!.words.map((w) => w.word)).toEqual(["Sure,", "Carol.", "Um,", "uh,", "let's", "go."]);
    expect(result.segments.map((s) => s.emotion)).toEqual([
      { label: "neutral", confidence: 0.7 },
      { label: "neutral", confidence: 0.7 },
      { label: "neutral", confidence: 0.7 },
      { label: "joy", confidence: 0.9 },
    ]);
    expect(result.speakers).toEqual([
      { id: "speaker_0", name: "Carol", name_source: "self_introduction" },
      { id: "speaker_1", name: null, name_source: null },
    ]);
    expect(result.enhancements.transcribe).toEqual({ status: "completed", engine: "workers-ai", model: "@cf/deepgram/nova-3" });
    expect(result.enhancements.speakers).toMatchObject({ status: "completed", engine: "workers-ai", model: LLAMA, named: 1, rejected_names: 1 });
  });

  it("passes a fixed language and the speaker hint through, and answers in that language", async () => {
    const message = await newJob(sevenSeconds(), params({ language: "de", num_speakers: 2 }));
    const ai = new StandInAi(conversationAnswers);
    await runJob(workersAiEnv(ai), store, message, 1);
    expect(ai.calls[0]!.inputs).toMatchObject({ language: "de" });
    expect(ai.calls[0]!.inputs).not.toHaveProperty("detect_language");
    expect((await resultOf(message.job_id)).language_code).toBe("de");
  });

  it("after a transient failure, retries resume after the last saved stage without calling its engine again", async () => {
    const message = await newJob(sevenSeconds(), params({ llm_cleanup: true }));
    let failTranscribe = 1;
    let failCleanup = 1;
    const ai = new StandInAi((call) => {
      if (call.model === "@cf/deepgram/nova-3" && failTranscribe-- > 0) throw workersAiError(3040, "No more data centers to forward the request to");
      if (call.task?.task === "cleanup" && failCleanup-- > 0) throw workersAiError(3007, "Request timeout");
      return conversationAnswers(call);
    });
    const testEnv = workersAiEnv(ai);

    // Delivery 1: the engine is out of capacity → rethrown for the queue to retry; the job says why.
    await expect(runJob(testEnv, store, message, 1)).rejects.toBeInstanceOf(EngineError);
    let job = (await store.getJob(message.job_id))!;
    expect(job).toMatchObject({ status: "processing", stage: "transcribe", completed_at: null });
    expect(job.error).toEqual({ code: "engine_unavailable", message: expect.stringContaining("3040") });

    // Delivery 2: transcribe and speakers succeed and are saved; cleanup times out.
    await expect(runJob(testEnv, store, message, 2)).rejects.toBeInstanceOf(EngineError);
    job = (await store.getJob(message.job_id))!;
    expect(job).toMatchObject({ status: "processing", stage: "cleanup" });
    expect(await stageSaved(message.job_id, "transcribe")).toBe(true);
    expect(await stageSaved(message.job_id, "speakers")).toBe(true);
    expect(await stageSaved(message.job_id, "cleanup")).toBe(false);
    const before = { nova: ai.count((c) => c.model === "@cf/deepgram/nova-3"), names: ai.count((c) => c.task?.task === "speaker_names") };
    expect(before).toEqual({ nova: 2, names: 1 });

    // Delivery 3: resumes at cleanup; transcription and naming are not asked again.
    await runJob(testEnv, store, message, 3);
    expect(ai.count((c) => c.model === "@cf/deepgram/nova-3")).toBe(2);
    expect(ai.count((c) => c.task?.task === "speaker_names")).toBe(1);
    expect(ai.count((c) => c.task?.task === "cleanup")).toBe(2);
    job = (await store.getJob(message.job_id))!;
    expect(job).toMatchObject({ status: "completed", error: null, deliveries: 3 });
    expect((await resultOf(message.job_id)).segments[2]!.text).toBe("Sure, Carol. Let's go.");
  });

  it("gives duplicate deliveries one result and no further engine calls", async () => {
    const message = await newJob(sevenSeconds(), params({ emotions: true }));
    const ai = new StandInAi(conversationAnswers);
    await runJob(workersAiEnv(ai), store, message, 1);
    const first = await env.RECORDINGS.head(r2Keys.jobResult(message.job_id));
    const calls = ai.calls.length;

    await runJob(workersAiEnv(ai), store, { ...message }, 1);
    await runJob(workersAiEnv(ai), store, { ...message }, 2);
    expect(ai.calls.length).toBe(calls);
    const again = await env.RECORDINGS.head(r2Keys.jobResult(message.job_id));
    expect(again!.etag).toBe(first!.etag);
    expect(again!.uploaded.getTime()).toBe(first!.uploaded.getTime());
    expect(await store.getJob(message.job_id)).toMatchObject({ status: "completed", deliveries: 3 });
  });

  it("fails the job (and acks) when the engine rejects the audio", async () => {
    const message = await newJob(sevenSeconds());
    const ai = new StandInAi(() => {
      throw workersAiError(3010, "Invalid or incomplete input for the model: failed to decode audio");
    });
    await expect(runJob(workersAiEnv(ai), store, message, 1)).resolves.toBe("failed");
    const job = (await store.getJob(message.job_id))!;
    expect(job).toMatchObject({ status: "failed", stage: "transcribe", result_key: null });
    expect(job.error).toEqual({ code: "engine_rejected_audio", message: expect.stringContaining("3010") });
    expect(job.completed_at).toEqual(expect.any(String));
    // A redelivery of a failed job does nothing.
    await runJob(workersAiEnv(ai), store, message, 2);
    expect(ai.calls).toHaveLength(1);
  });

  it.each([
    ["missing audio", null, "audio_not_found"],
    ["audio that is not a WAV", new TextEncoder().encode("this is not audio at all, just text"), "audio_unreadable"],
    ["audio at 8 kHz", wavFile(new Uint8Array(16000), { sampleRate: 8000 }), "audio_unsupported"],
  ] as const)("fails the job on %s", async (_name, audio, code) => {
    const message = await newJob(audio);
    const ai = new StandInAi(conversationAnswers);
    await runJob(workersAiEnv(ai), store, message, 1);
    expect(await store.getJob(message.job_id)).toMatchObject({ status: "failed", error: { code } });
    expect(ai.calls).toHaveLength(0);
  });

  it("fails the job when no batch engine is configured", async () => {
    const message = await newJob(sevenSeconds());
    await runJob({ ...appEnv, BATCH_ENGINE: "elevenlabs", BATCH_ENGINE_URL: "" }, store, message, 1);
    expect(await store.getJob(message.job_id)).toMatchObject({ status: "failed", error: { code: "batch_engine_not_configured" } });
  });

  it("from the give-up delivery on, a failing LLM costs its stages, not the transcript", async () => {
    const message = await newJob(sevenSeconds(), params({ llm_cleanup: true, emotions: true }));
    const ai = new StandInAi((call) => {
      if (call.task) throw workersAiError(3040, "No more data centers to forward the request to");
      return conversationAnswers(call);
    });
    await expect(runJob(workersAiEnv(ai), store, message, 2)).rejects.toThrow(/3040/);
    await runJob(workersAiEnv(ai), store, message, readConfig(appEnv).llm.giveUpAfterAttempts);
    const result = await resultOf(message.job_id);
    expect(result.enhancements.speakers).toMatchObject({ status: "failed", reason: expect.stringContaining("gave up") });
    expect(result.enhancements.cleanup).toMatchObject({ status: "failed" });
    expect(result.enhancements.emotions).toMatchObject({ status: "failed" });
    expect(result.speakers.every((s) => s.name === null)).toBe(true);
    expect(result.segments.some((s) => "emotion" in s || "raw_text" in s)).toBe(false);
  });

  it("keeps raw text and falls back per segment when the LLM answers nonsense", async () => {
    const message = await newJob(sevenSeconds(), params({ llm_cleanup: true, emotions: true }));
    const ai = new StandInAi((call) => {
      if (!call.task) return conversationAnswers(call);
      if (call.task.task === "speaker_names") return workersAiJson("I think speaker_0 is Carol");
      if (call.task.task === "cleanup") return workersAiJson({ segments: [{ id: 0, text: 42 }, { id: 2, text: "A completely different sentence about the weather today." }] });
      return workersAiJson({ segments: [{ id: 0, label: "Joy", confidence: 0.8 }, { id: 1, label: "boredom", confidence: 0.5 }, { id: 2, label: "anger", confidence: 1.5 }] });
    });
    await runJob(workersAiEnv(ai), store, message, 1);
    const result = await resultOf(message.job_id);
    expect(result.speakers.map((s) => s.name)).toEqual([null, null]);
    expect(result.enhancements.speakers).toMatchObject({ status: "failed", reason: expect.stringContaining("not JSON") });
    expect(result.segments.map((s) => s.text)).toEqual(["Hello, I'm Carol.", "Shall we start?", "Sure, Carol. Um, uh, let's go.", "Great!"]);
    expect(result.enhancements.cleanup).toMatchObject({ status: "completed", segments_changed: 0, segments_kept_raw: 4 });
    expect(result.segments.map((s) => s.emotion)).toEqual([{ label: "joy", confidence: 0.8 }, FALLBACK_EMOTION, FALLBACK_EMOTION, FALLBACK_EMOTION]);
    expect(result.enhancements.emotions).toMatchObject({ status: "completed", invalid: 3 });
  });
});

/* ------------------------------------------------------------------ */

describe("speaker names", () => {
  const seg = (id: number, speaker: string, text: string): ResultSegment => ({ id, start: id, end: id + 1, speaker, text, words: [] });
  const segments = [
    seg(0, "speaker_0", "Good morning, this is Priya from support."),
    seg(1, "speaker_1", "Morning Priya. Thanks for calling back."),
    seg(2, "speaker_2", "Hi both, sorry I'm late."),
    seg(3, "speaker_1", "No worries, Tomás, we just started."),
    seg(4, "speaker_3", "Jean-Luc here."),
    seg(5, "speaker_4", "Okay."),
  ];

  it("accepts only names that occur in the text, and says how they were found", () => {
    const { speakers, rejected } = validateSpeakerNames(
      {
        speakers: [
          { id: "speaker_0", name: "Priya", evidence: "Good morning, this is Priya from support." },
          { id: "speaker_1", name: "Michael", evidence: "he sounds like a Michael" },
          { id: "speaker_2", name: "tomás", evidence: "No worries, Tomás, we just started." },
          { id: "speaker_3", name: "Jean-Luc", evidence: null },
          { id: "speaker_4", name: "Pri", evidence: null }, // only part of a word
          { id: "speaker_9", name: "Priya", evidence: null }, // not a speaker
        ],
      },
      segments,
    );
    expect(speakers).toEqual([
      { id: "speaker_0", name: "Priya", name_source: "self_introduction" },
      { id: "speaker_1", name: null, name_source: null },
      { id: "speaker_2", name: "tomás", name_source: "addressed" },
      { id: "speaker_3", name: "Jean-Luc", name_source: "self_introduction" },
      { id: "speaker_4", name: null, name_source: null },
    ]);
    expect(rejected).toBe(2);
  });

  it("rejects a name another speaker introduced or already got, and marks LLM-only judgements", () => {
    const { speakers, rejected } = validateSpeakerNames(
      {
        speakers: [
          { id: "speaker_1", name: "Priya", evidence: null }, // speaker_0 says "this is Priya"
          { id: "speaker_0", name: "Priya", evidence: null },
          { id: "speaker_2", name: "Priya", evidence: null }, // taken
          { id: "speaker_4", name: "Okay", evidence: "Okay." },
        ],
      },
      segments,
    );
    expect(rejected).toBe(2);
    expect(speakers.find((s) => s.id === "speaker_0")).toEqual({ id: "speaker_0", name: "Priya", name_source: "self_introduction" });
    expect(speakers.find((s) => s.id === "speaker_1")!.name).toBeNull();
    expect(speakers.find((s) => s.id === "speaker_2")!.name).toBeNull();
    expect(speakers.find((s) => s.id === "speaker_4")).toEqual({ id: "speaker_4", name: "Okay", name_source: "llm" });
  });

  it("lists every speaker of the transcript even when the answer is not usable", () => {
    expect(validateSpeakerNames({ nope: true }, segments).speakers.map((s) => s.id)).toEqual(["speaker_0", "speaker_1", "speaker_2", "speaker_3", "speaker_4"]);
    expect(validateSpeakerNames(null, segments).speakers.every((s) => s.name === null && s.name_source === null)).toBe(true);
  });
});

describe("cleanup", () => {
  it(`accepts cleaned text only within the drift threshold (${CLEANUP_MAX_DRIFT} edits per raw word)`, () => {
    const raw = "um so how was the uh weekend";
    // Fillers, punctuation and case are free.
    expect(cleanupDrift(raw, "So how was the weekend?")).toBe(0);
    expect(acceptCleaned(raw, "So how was the weekend?")).toBe("So how was the weekend?");
    expect(acceptCleaned(raw, "  So   how was the weekend?  ")).toBe("So how was the weekend?");
    expect(acceptCleaned("um hello", "Hello.")).toBe("Hello.");
    // A stutter: 1 edit on 3 words.
    expect(cleanupDrift("I I think so", "I think so.")).toBeCloseTo(1 / 4, 5);
    // Exactly at the threshold is accepted: 2 edits on 5 words.
    expect(acceptCleaned("we could meet on monday", "We could meet Tuesday instead.")).toBe("We could meet Tuesday instead.");
    // Rewriting is not cleanup: 3 edits on 5 words is 0.6.
    expect(acceptCleaned("we could meet on monday", "We could meet next Tuesday instead.")).toBeNull();
    // Nothing left but fillers: keep the raw text rather than an empty segment.
    expect(acceptCleaned("um uh", "")).toBeNull();
    for (const bad of [42, null, undefined, "", "   ", "?!", { text: "x" }]) expect(acceptCleaned(raw, bad)).toBeNull();
  });

  it("keeps raw text for malformed, missing or drifting answers and records raw_text only on change", async () => {
    const segments = buildSegments([
      { word: "um", start: 0, end: 0.2, confidence: 1, speaker: "speaker_0" },
      { word: "hello", start: 0.3, end: 0.6, confidence: 1, speaker: "speaker_0" },
      { word: "yes", start: 2, end: 2.3, confidence: 1, speaker: "speaker_1" },
      { word: "fine", start: 4, end: 4.3, confidence: 1, speaker: "speaker_0" },
      { word: "ok", start: 6, end: 6.3, confidence: 1, speaker: "speaker_1" },
    ]);
    const llm: LlmClient = {
      name: "stand-in",
      model: "m",
      completeJson: async () => ({
        segments: [
          { id: 0, text: "Hello." },
          { id: 1, text: 42 },
          { id: 2, text: "This is not what was said at all." },
          { id: "3", text: "ok" },
        ],
      }),
    };
    const out = await runCleanupStage(segments, { llm, attempt: 1, giveUpAfterAttempts: 3 }, "");
    expect(out.texts).toEqual([{ id: 0, text: "Hello." }]);
    expect(out.report).toMatchObject({ status: "completed", segments_changed: 1, segments_kept_raw: 2 });

    const broken: LlmClient = { ...llm, completeJson: async () => Promise.reject(new LlmOutputError("stand-in: the answer is not JSON")) };
    const failed = await runCleanupStage(segments, { llm: broken, attempt: 1, giveUpAfterAttempts: 3 }, "");
    expect(failed).toEqual({ texts: [], report: { status: "failed", engine: "stand-in", model: "m", reason: "stand-in: the answer is not JSON" } });
  });

  it("sends segments in batches of 50", async () => {
    const words = Array.from({ length: 120 }, (_, i) => ({ word: `w${i}`, start: i * 2, end: i * 2 + 0.5, confidence: 1, speaker: "speaker_0" }));
    const sizes: number[] = [];
    const llm: LlmClient = {
      name: "stand-in",
      model: "m",
      completeJson: async (task) => {
        const segs = (task as { segments: Array<{ id: number; text: string }> }).segments;
        sizes.push(segs.length);
        return { segments: segs };
      },
    };
    await runCleanupStage(buildSegments(words), { llm, attempt: 1, giveUpAfterAttempts: 3 }, "");
    expect(sizes).toEqual([50, 50, 20]);
  });
});

describe("emotions", () => {
  it("accepts only labels of the fixed set with a confidence in [0, 1]", () => {
    expect(EMOTION_LABELS).toEqual(["neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust"]);
    expect(validateEmotion({ id: 0, label: "disgust", confidence: 0.4 })).toEqual({ label: "disgust", confidence: 0.4 });
    expect(validateEmotion({ label: " Fear ", confidence: 1 })).toEqual({ label: "fear", confidence: 1 });
    expect(validateEmotion({ label: "neutral", confidence: 0 })).toEqual({ label: "neutral", confidence: 0 });
    for (const bad of [
      { label: "boredom", confidence: 0.5 },
      { label: "joy", confidence: 1.01 },
      { label: "joy", confidence: -0.1 },
      { label: "joy", confidence: "0.5" },
      { label: "joy", confidence: Number.NaN },
      { label: 3, confidence: 0.5 },
      { confidence: 0.5 },
      null,
      "joy",
    ]) {
      expect(validateEmotion(bad)).toBeNull();
    }
  });

  it("gives every segment an emotion, the fallback where the answer is missing or invalid", async () => {
    const segments = buildSegments([
      { word: "a", start: 0, end: 0.2, confidence: 1, speaker: "speaker_0" },
      { word: "b", start: 2, end: 2.2, confidence: 1, speaker: "speaker_1" },
      { word: "c", start: 4, end: 4.2, confidence: 1, speaker: "speaker_0" },
    ]);
    const llm: LlmClient = {
      name: "stand-in",
      model: "m",
      completeJson: async () => ({ segments: [{ id: 0, label: "surprise", confidence: 0.66 }, { id: 1, label: "Sarcasm", confidence: 0.9 }] }),
    };
    const out = await runEmotionsStage(segments, { llm, attempt: 1, giveUpAfterAttempts: 3 }, "");
    expect(out.emotions).toEqual([
      { id: 0, label: "surprise", confidence: 0.66 },
      { id: 1, ...FALLBACK_EMOTION },
      { id: 2, ...FALLBACK_EMOTION },
    ]);
    expect(out.report).toMatchObject({ status: "completed", invalid: 2 });
  });
});

describe("segments", () => {
  it("split on speaker change and on pauses over 1 s, not on shorter pauses", () => {
    const w = (word: string, start: number, end: number, speaker = "speaker_0") => ({ word, start, end, confidence: 1, speaker });
    const segments = buildSegments([w("a", 0, 0.5), w("b", 1.4, 1.8), w("c", 2.81, 3), w("d", 3.1, 3.5, "speaker_1"), w("e", 3.6, 4, "speaker_0")]);
    expect(segments.map((s) => [s.id, s.text, s.start, s.end, s.speaker])).toEqual([
      [0, "a b", 0, 1.8, "speaker_0"],
      [1, "c", 2.81, 3, "speaker_0"],
      [2, "d", 3.1, 3.5, "speaker_1"],
      [3, "e", 3.6, 4, "speaker_0"],
    ]);
  });
});

/* ------------------------------------------------------------------ */

/** Tone bursts found in a WAV (10 ms frames): a tiny "engine" that really listens to the chunk it gets. */
function tonesIn(wav: Uint8Array): Array<{ start: number; end: number; freq: number }> {
  const view = new DataView(wav.buffer, wav.byteOffset + WAV_HEADER_BYTES, wav.byteLength - WAV_HEADER_BYTES);
  const n = Math.floor(view.byteLength / 2);
  const F = 160;
  const out: Array<{ start: number; end: number; freq: number }> = [];
  let open: { frame: number; crossings: number; frames: number } | null = null;
  let last = 0;
  for (let f = 0; (f + 1) * F <= n; f++) {
    let energy = 0;
    let crossings = 0;
    for (let i = f * F; i < (f + 1) * F; i++) {
      const s = view.getInt16(i * 2, true);
      energy += s * s;
      if (s >= 0 !== last >= 0) crossings++;
      last = s;
    }
    if (energy / F > 1_000_000) {
      open ??= { frame: f, crossings: 0, frames: 0 };
      open.crossings += crossings;
      open.frames++;
    } else if (open) {
      out.push({ start: (open.frame * F) / 16000, end: (f * F) / 16000, freq: open.crossings / 2 / ((open.frames * F) / 16000) });
      open = null;
    }
  }
  if (open) out.push({ start: (open.frame * F) / 16000, end: n / 16000, freq: open.crossings / 2 / ((open.frames * F) / 16000) });
  return out;
}

/** One word per tone: "lo" (≈140 Hz) or "hi" (≈280 Hz); speaker labels are chunk-local, named "Q", "P" by first appearance. */
function toneEngine(audio: BatchAudio): BatchTranscription {
  const labels = new Map<string, string>();
  return {
    language_code: "en",
    words: tonesIn(audio.bytes).map((t) => {
      const word = t.freq < 200 ? "lo" : "hi";
      if (!labels.has(word)) labels.set(word, ["Q", "P"][labels.size]!);
      return { word, start: t.start, end: t.end, confidence: 0.9, speaker: labels.get(word)! };
    }),
  };
}

const testEngines = (transcriber: StandInTranscriber): JobEngines => ({ transcriber, llm: null, llmReason: "test: no LLM", llmGiveUpAfterAttempts: 3 });

describe("chunking long recordings", () => {
  it("transcribes a 65-minute recording in 10-minute range reads, with offsets and consistent speakers", async () => {
    const minutes = 65;
    const dataBytes = minutes * 60 * 32000;
    // Voice A (140 Hz) at [20m+2, 20m+6) s, voice B (280 Hz) at [20m+12, 20m+16) s.
    const sample = (i: number) => {
      const t = i / 16000;
      const r = t % 20;
      if (r >= 2 && r < 6) return Math.round(8000 * Math.sin(2 * Math.PI * 140 * t));
      if (r >= 12 && r < 16) return Math.round(8000 * Math.sin(2 * Math.PI * 280 * t));
      return 0;
    };
    const id = newJobId();
    const bucket = new SyntheticBucket(r2Keys.recording(`sess_${id.slice(4)}`), wavHeader({ dataBytes }), dataBytes, sample);
    const message = await newJob(null, params(), bucket.audioKey);
    const transcriber = new StandInTranscriber(600, toneEngine);

    await runJobWith(bucket.asR2(), store, message, 1, testEngines(transcriber));

    expect(await store.getJob(message.job_id)).toMatchObject({ status: "completed" });
    const result = JSON.parse(bucket.objects.get(r2Keys.jobResult(message.job_id))!) as EnhancedTranscript;
    expect(result.duration).toBe(minutes * 60);
    // Never more than one chunk of audio read at once.
    expect(Math.max(...bucket.reads.map((r) => r.length))).toBeLessThanOrEqual(600 * 32000);
    expect(transcriber.requests).toHaveLength(Math.ceil(minutes / 10));
    expect(transcriber.requests.every((r) => r.durationSeconds <= 600)).toBe(true);

    const words = result.segments.flatMap((s) => s.words);
    expect(words).toHaveLength((minutes * 3 * 2));
    words.forEach((w, k) => {
      const period = Math.floor(k / 2);
      const trueStart = period * 20 + (k % 2 === 0 ? 2 : 12);
      expect(Math.abs(w.start - trueStart)).toBeLessThan(0.015);
      // Every chunk starts with voice A, so ids stay consistent: A is speaker_0 throughout.
      expect(w.speaker).toBe(w.word === "lo" ? "speaker_0" : "speaker_1");
    });
    expect(result.speakers.map((s) => s.id)).toEqual(["speaker_0", "speaker_1"]);
    expect(result.enhancements.speakers).toEqual({ status: "skipped", reason: "test: no LLM" });
  }, 180_000); // 65 minutes of audio read in ranges: slow on a loaded machine, and only its result is asserted

  it("cuts chunks in a pause, sends every sample exactly once, and resumes after the last saved chunk", async () => {
    // Tones from 2 s to 100 s; one straddles the first chunk's nominal end (30 s): [28.5, 31.5).
    const regions: Region[] = [
      { gap: 2, seconds: 3, freq: 140 }, // 2–5
      { gap: 4, seconds: 3, freq: 280 }, // 9–12
      { gap: 4, seconds: 3, freq: 140 }, // 16–19
      { gap: 4, seconds: 3, freq: 280 }, // 23–26
      { gap: 2.5, seconds: 3, freq: 140 }, // 28.5–31.5
      ...Array.from({ length: 10 }, (_, k): Region => ({ gap: 4, seconds: 3, freq: k % 2 ? 140 : 280 })),
    ];
    const pcm = tonePcm(regions, 1);
    const message = await newJob(wav16k(pcm));

    let failAt: number | null = 2;
    const flaky = (audio: BatchAudio, index: number) => {
      if (index === failAt) throw new EngineError("stand-in", "stand-in answered HTTP 503", { status: 503, retryable: true });
      return toneEngine(audio);
    };
    const first = new StandInTranscriber(30, flaky, true);
    await expect(runJobWith(env.RECORDINGS, store, message, 1, testEngines(first))).rejects.toThrow(/503/);
    expect(first.requests).toHaveLength(3);
    expect(await stageSaved(message.job_id, "transcribe-chunk-0001")).toBe(true);

    failAt = null;
    const second = new StandInTranscriber(30, flaky, true);
    await runJobWith(env.RECORDINGS, store, message, 2, testEngines(second));
    const sent = [...first.requests.slice(0, 2), ...second.requests];
    expect(second.requests.length).toBe(sent.length - 2);

    // The first cut falls in the pause before the straddling tone, not at 30 s.
    const firstChunkSeconds = first.requests[0]!.durationSeconds;
    expect(firstChunkSeconds).toBeGreaterThan(26);
    expect(firstChunkSeconds).toBeLessThanOrEqual(28.5);
    // The chunks are the recording, sample for sample.
    const joined = sent.flatMap((r) => Array.from(samplesOf(r.bytes!)));
    expect(joined.length).toBe(pcm.length);
    expect(joined.every((s, i) => s === pcm[i])).toBe(true);
    for (const r of sent) {
      expect(r.durationSeconds).toBeLessThanOrEqual(30);
      expect(parseWav(r.bytes!)).toMatchObject({ format: "pcm_s16le", sampleRate: 16000, channels: 1 });
    }

    const result = await resultOf(message.job_id);
    const trueStarts: number[] = [];
    let t = 0;
    for (const r of regions) {
      t += r.gap;
      trueStarts.push(t);
      t += r.seconds;
    }
    const words = result.segments.flatMap((s) => s.words);
    expect(words.map((w) => w.word)).toEqual(regions.map((r) => (r.freq < 200 ? "lo" : "hi")));
    words.forEach((w, k) => expect(Math.abs(w.start - trueStarts[k]!)).toBeLessThan(0.015));
  });
});

/* ------------------------------------------------------------------ */

describe("engine adapters", () => {
  it("ElevenLabs: multipart request, word entries only, exp(logprob) confidence, typed HTTP errors", async () => {
    const seen: { last?: { url: string; headers: Headers; form: FormData } } = {};
    let status = 200;
    const transcriber = new ElevenLabsTranscriber({
      url: "https://stt.example/",
      apiKey: "k-123",
      fetch: async (input, init) => {
        const req = new Request(input as string, init);
        seen.last = { url: req.url, headers: req.headers, form: await req.formData() };
        if (status !== 200) return new Response(JSON.stringify({ detail: { status: "invalid_audio", message: "bad audio" } }), { status });
        return Response.json({
          language_code: "eng",
          language_probability: 0.98,
          text: "Hi there",
          words: [
            { text: "Hi", start: 0.1, end: 0.3, type: "word", speaker_id: "speaker_1", logprob: -0.105 },
            { text: " ", start: 0.3, end: 0.35, type: "spacing", speaker_id: "speaker_1", logprob: 0 },
            { text: "(laughs)", start: 0.35, end: 0.9, type: "audio_event", speaker_id: "speaker_1", logprob: 0 },
            { text: "there", start: 0.9, end: 1.2, type: "word", speaker_id: "speaker_0", logprob: 0.5 },
          ],
        });
      },
    });
    const audio = { bytes: sevenSeconds(), durationSeconds: 7 };
    const out = await transcriber.transcribe(audio, { language: "en", numSpeakers: 2 });
    expect(out.language_code).toBe("eng");
    expect(out.words).toEqual([
      { word: "Hi", start: 0.1, end: 0.3, confidence: expect.closeTo(Math.exp(-0.105), 6), speaker: "speaker_1" },
      { word: "there", start: 0.9, end: 1.2, confidence: 1, speaker: "speaker_0" },
    ]);
    const req = seen.last!;
    expect(req.url).toBe("https://stt.example/v1/speech-to-text");
    expect(req.headers.get("xi-api-key")).toBe("k-123");
    expect(Object.fromEntries([...req.form.entries()].filter(([k]) => k !== "file"))).toEqual({
      model_id: "scribe_v1",
      diarize: "true",
      timestamps_granularity: "word",
      tag_audio_events: "false",
      num_speakers: "2",
      language_code: "en",
    });
    const file = req.form.get("file") as File;
    expect(file.size).toBe(audio.bytes.length);

    await transcriber.transcribe(audio, { language: "auto", numSpeakers: null });
    expect(seen.last!.form.has("language_code")).toBe(false);
    expect(seen.last!.form.has("num_speakers")).toBe(false);

    for (const [code, retryable] of [[422, false], [400, false], [429, true], [503, true], [401, true]] as const) {
      status = code;
      const err = await transcriber.transcribe(audio, { language: "auto", numSpeakers: null }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect(err).toMatchObject({ status: code, retryable });
    }
  });

  it("OpenAI-compatible: JSON mode at temperature 0, content parsed, typed failures", async () => {
    let body: Record<string, unknown> = {};
    let auth: string | null = null;
    let answer: Response = Response.json({});
    const llm = new OpenAiCompatibleLlm({
      baseUrl: "https://llm.example/v1/",
      apiKey: "sk-test",
      model: "gpt-test",
      fetch: async (input, init) => {
        const req = new Request(input as string, init);
        expect(req.url).toBe("https://llm.example/v1/chat/completions");
        auth = req.headers.get("authorization");
        body = (await req.json()) as Record<string, unknown>;
        return answer.clone();
      },
    });
    const reply = (content: string) => Response.json({ choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] });

    answer = reply('{"speakers":[]}');
    await expect(llm.completeJson({ task: "speaker_names", segments: [] }, "system prompt")).resolves.toEqual({ speakers: [] });
    expect(auth).toBe("Bearer sk-test");
    expect(body).toEqual({
      model: "gpt-test",
      temperature: 0,
      response_format: { type: "json_object" },
      messages: [
        { role: "system", content: "system prompt" },
        { role: "user", content: JSON.stringify({ task: "speaker_names", segments: [] }) },
      ],
    });

    answer = reply('```json\n{"ok":true}\n```');
    await expect(llm.completeJson({}, "s")).resolves.toEqual({ ok: true });
    answer = reply("Sure! Here are the names: Alice");
    await expect(llm.completeJson({}, "s")).rejects.toBeInstanceOf(LlmOutputError);
    answer = new Response("upstream exploded", { status: 502 });
    await expect(llm.completeJson({}, "s")).rejects.toMatchObject({ name: "EngineError", status: 502, retryable: true });
    answer = new Response('{"error":{"message":"context too long"}}', { status: 400 });
    await expect(llm.completeJson({}, "s")).rejects.toMatchObject({ name: "EngineError", status: 400, retryable: false });
  });
});

/* ------------------------------------------------------------------ */

describe("uploads", () => {
  const file = (bytes: Uint8Array) => new File([bytes], "upload.wav", { type: "audio/wav" });

  it("converts a stereo 44.1 kHz WAV to 16 kHz mono, creates and queues the job, which then completes", async () => {
    const mono = tonePcm(conversation(4), 0.5, 44100);
    const stereo = new Int16Array(mono.length * 2);
    mono.forEach((s, i) => {
      stereo[2 * i] = s;
      stereo[2 * i + 1] = s;
    });
    const upload = wavFile(s16Bytes(stereo), { sampleRate: 44100, channels: 2 });
    const { id, status } = await createUploadJob(appEnv, store, { file: file(upload), options: { llm_cleanup: true, num_speakers: 2 }, owner: "key_test" });
    expect(status).toBe("pending");

    const stored = await env.RECORDINGS.get(r2Keys.upload(id, "audio.wav"));
    const wav = parseWav(new Uint8Array(await stored!.arrayBuffer()));
    expect(wav).toMatchObject({ format: "pcm_s16le", sampleRate: 16000, channels: 1, dataOffset: 44 });
    expect(wav.dataBytes).toBe(Math.ceil((mono.length * 16000) / 44100) * 2);

    const job = await store.getJob(id);
    expect(job).toMatchObject({
      id,
      owner: "key_test",
      source: "upload",
      source_session_id: null,
      audio_key: r2Keys.upload(id, "audio.wav"),
      parameters: { speaker_detection: "diarize", word_timestamps: true, llm_cleanup: true, emotions: false, num_speakers: 2, language: "auto" },
    });
    // The worker's own queue consumer picks the message up and runs the pipeline.
    const done = await eventually(async () => {
      const j = await store.getJob(id);
      return j?.status === "completed" || j?.status === "failed" ? j : null;
    }, 25_000);
    expect(done.status).toBe("completed");
    const result = await resultOf(id);
    expect(result.segments).toHaveLength(4);
    expect(result.speakers.map((s) => s.name)).toEqual(["Alice", "Bob"]);
  });

  it("streams long conversions to R2 in multipart parts (8 kHz μ-law → 16 kHz s16)", async () => {
    const seconds = 200; // 6.4 MB once converted: more than one 5 MiB part
    const mulaw = new Uint8Array(seconds * 8000).fill(0xff); // μ-law silence
    for (let i = 0; i < 8000; i++) mulaw[i] = Math.floor(i / 8) % 2 ? 0x10 : 0x90; // a loud 500 Hz first second
    const { id } = await createUploadJob(appEnv, store, { file: file(wavFile(mulaw, { sampleRate: 8000, formatTag: 7, bitsPerSample: 8 })), options: {}, owner: "anonymous" });
    const stored = await env.RECORDINGS.get(r2Keys.upload(id, "audio.wav"));
    const bytes = new Uint8Array(await stored!.arrayBuffer());
    await eventually(async () => (await store.getJob(id))?.status === "completed", 25_000);
    expect(bytes.length).toBe(44 + seconds * 32000);
    const wav = parseWav(bytes);
    expect(wav).toMatchObject({ sampleRate: 16000, channels: 1, dataBytes: seconds * 32000 });
    const samples = samplesOf(bytes);
    expect(samples.slice(100, 15000).some((s) => Math.abs(s) > 1000)).toBe(true);
    expect(samples.slice(32000, 40000).every((s) => s === 0)).toBe(true);
  });

  it.each([
    ["a text file", new TextEncoder().encode("hello, I am definitely not a RIFF file"), 415, "unsupported_media_type"],
    ["an MP3 inside a WAV", wavFile(new Uint8Array(1000), { formatTag: 0x55 }), 415, "unsupported_media_type"],
    ["a WAV without audio", wavFile(new Uint8Array(0)), 400, "invalid_request"],
  ] as const)("refuses %s with %i", async (_name, bytes, status, code) => {
    const err = await createUploadJob(appEnv, store, { file: file(bytes), options: {}, owner: "anonymous" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(err).toMatchObject({ status, code });
  });

  it("refuses files over MAX_UPLOAD_BYTES with 413", async () => {
    const err = await createUploadJob({ ...appEnv, MAX_UPLOAD_BYTES: "1000" }, store, { file: file(sevenSeconds()), options: {}, owner: "anonymous" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(err).toMatchObject({ status: 413, code: "too_large" });
  });
});

/* ------------------------------------------------------------------ */
/* Issue 19 items 4 and 5: Workers AI as documented                     */
/* ------------------------------------------------------------------ */

/** Structured warn lines logged while `run` runs, by event name. */
async function warningsDuring(event: string, run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    await run();
    return warn.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>).filter((l) => l.event === event);
  } finally {
    warn.mockRestore();
  }
}

describe("nova-3 batch answers without speakers or language (issue 19 item 4)", () => {
  it("completes, but reports speakers and language as degraded with the reason and logs a warning for each", async () => {
    const message = await newJob(sevenSeconds());
    const ai = new StandInAi((call) => (call.model === "@cf/deepgram/nova-3" ? nova3SchemaResponse(NOVA3_CONVERSATION) : conversationAnswers(call)));
    const warnings = await warningsDuring("job.engine_output_degraded", () => runJob(workersAiEnv(ai), store, message, 1));
    const result = await resultOf(message.job_id);

    expect(result.language_code).toBe("und");
    expect(result.speakers.map((s) => s.id)).toEqual(["speaker_0"]);
    expect(result.segments[0]!.words[0]).toMatchObject({ word: "Hello,", speaker: "speaker_0" });
    expect(result.enhancements.transcribe).toEqual({
      status: "degraded",
      engine: "workers-ai",
      model: "@cf/deepgram/nova-3",
      reason: expect.stringContaining("no detected_language"),
    });
    expect(result.enhancements.speakers).toMatchObject({
      status: "degraded",
      reason: expect.stringContaining(`no speaker label for ${NOVA3_CONVERSATION.length} of ${NOVA3_CONVERSATION.length} words`),
      naming: "completed",
      engine: "workers-ai",
      model: LLAMA,
    });
    expect(warnings.map((w) => [w.what, w.job_id])).toEqual([
      ["speakers", message.job_id],
      ["language", message.job_id],
    ]);
  });

  it("says so when only some words lack a speaker, and is silent when Deepgram's full shape comes back", async () => {
    const partial = nova3Response(NOVA3_CONVERSATION, { detectedLanguage: "en" });
    for (const w of partial.results.channels[0]!.alternatives[0]!.words.slice(0, 2)) delete (w as { speaker?: number }).speaker;
    const message = await newJob(sevenSeconds(), params({ language: "en" }));
    const ai = new StandInAi((call) => (call.model === "@cf/deepgram/nova-3" ? partial : conversationAnswers(call)));
    await runJob(workersAiEnv(ai), store, message, 1);
    const result = await resultOf(message.job_id);
    expect(result.enhancements.speakers).toMatchObject({ status: "degraded", reason: expect.stringContaining("for 2 of 13 words") });
    // A fixed language is not detected, so its absence is not a gap.
    expect(result.enhancements.transcribe.status).toBe("completed");

    const full = await newJob(sevenSeconds());
    const quiet = await warningsDuring("job.engine_output_degraded", () => runJob(workersAiEnv(new StandInAi(conversationAnswers)), store, full, 1));
    expect(quiet).toEqual([]);
    expect((await resultOf(full.job_id)).enhancements.speakers.status).toBe("completed");
  });
});

describe("Workers AI errors, classified from the documented table (issue 19 item 5)", () => {
  // https://developers.cloudflare.com/workers-ai/platform/errors/ (internal code → HTTP code).
  it.each([
    [3040, "No more data centers to forward the request to", 429, true],
    [3036, "You have used up your daily free allocation of 10,000 neurons.", 429, true],
    [3007, "Request timeout", 408, true],
    [3008, "Request was aborted", 408, true],
    [5018, "The account is not allowed to access this model", 403, true],
    [3042, "The model name is invalid", 404, true],
    [5007, "No such model @cf/nope or task", 400, false],
    [5004, "Invalid data type for base64 input: number", 400, false],
    [3003, "Request is missing headers or body: body", 400, false],
    [3006, "Request is too large", 413, false],
    [5019, "Request trying to use deprecated SDK version", 405, false],
  ] as const)("documented %i → HTTP %i, retryable %s", (code, text, status, retryable) => {
    const err = engineErrorFromWorkersAi("workers-ai", workersAiError(code, text));
    expect({ status: err.status, retryable: err.retryable, kind: err.kind, code: err.code }).toEqual({ status, retryable, kind: "documented", code });
  });

  it("classifies codes outside the table by their message: input refusals are permanent, the rest retried", () => {
    const refused = [
      workersAiError(3010, "Invalid or incomplete input for the model: failed to decode audio"),
      workersAiError(5006, "AiError: Bad input: Error: oneOf at '/' not met, 0 matches"),
    ].map((e) => engineErrorFromWorkersAi("workers-ai", e));
    expect(refused.map((e) => [e.code, e.status, e.retryable, e.kind])).toEqual([
      [3010, 400, false, "undocumented"],
      [5006, 400, false, "undocumented"],
    ]);
    const other = engineErrorFromWorkersAi("workers-ai", workersAiError(3010, "Internal server error"));
    expect([other.status, other.retryable, other.kind]).toEqual([undefined, true, "undocumented"]);
    expect(engineErrorFromWorkersAi("workers-ai", new Error("network connection lost")).retryable).toBe(true);
  });

  it.each(JSON_MODE_UNMET_ERRORS.map((make) => [make().message, make] as const))(
    "JSON mode's %j is never retried as is",
    (_message, make) => {
      const err = engineErrorFromWorkersAi("workers-ai", make());
      expect([err.kind, err.retryable]).toEqual(["json_mode_unmet", false]);
    },
  );

  it("a schema the model cannot meet falls back once to json_object and the stage completes", async () => {
    const message = await newJob(sevenSeconds());
    const ai = new StandInAi((call) => {
      const format = (call.inputs.response_format as { type: string } | undefined)?.type;
      if (call.task?.task === "speaker_names" && format === "json_schema") throw JSON_MODE_UNMET_ERRORS[0]!();
      return conversationAnswers(call);
    });
    await runJob(workersAiEnv(ai), store, message, 1);
    const formats = ai.calls.filter((c) => c.task?.task === "speaker_names").map((c) => (c.inputs.response_format as { type: string }).type);
    expect(formats).toEqual(["json_schema", "json_object"]);
    const result = await resultOf(message.job_id);
    expect(result.enhancements.speakers).toMatchObject({ status: "completed", named: 1 });
  });

  it("when JSON mode cannot be met either way, the stage fails with a clear reason on the first delivery", async () => {
    const message = await newJob(sevenSeconds(), params({ llm_cleanup: true }));
    const ai = new StandInAi((call) => {
      if (call.task) throw JSON_MODE_UNMET_ERRORS[1]!();
      return conversationAnswers(call);
    });
    const warnings = await warningsDuring("llm.json_mode_unmet", async () => expect(await runJob(workersAiEnv(ai), store, message, 1)).toBe("completed"));
    const result = await resultOf(message.job_id);
    expect(result.enhancements.speakers).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("JSON Mode couldn't be met (json_schema, then json_object)"),
    });
    expect(result.enhancements.cleanup.status).toBe("failed");
    expect(ai.count((c) => c.task?.task === "speaker_names")).toBe(2);
    expect(warnings.map((w) => w.fallback)).toContain(true);
    expect(await store.getJob(message.job_id)).toMatchObject({ status: "completed", deliveries: 1 });
  });
});
