/**
 * ElevenLabs-style batch speech-to-text (`POST /v1/speech-to-text`).
 *
 * Segmentation is the realtime VAD run over the whole file, and region k gets
 * scriptLine(k), so a recording streamed in realtime and uploaded afterwards
 * yields the same regions and the same text.
 */
import { assignSpeakers, regionPitch } from "./pitch";
import { scriptLine, spreadWords } from "./script";
import type { HttpAnswer } from "./types";
import { detectRegions, toSeconds } from "./vad";
import { parseWav, WavError, type DecodedWav } from "./wav";

export const STT_DEFAULT_MODEL = "emulator-scribe";
/** Reported per-word confidence, as ElevenLabs' log probability. */
const WORD_LOGPROB = Math.round(Math.log(0.9) * 1000) / 1000;

export interface SttWord {
  text: string;
  start: number;
  end: number;
  type: "word" | "spacing";
  speaker_id: string;
  logprob: number;
}

export interface SttResponse {
  language_code: string;
  language_probability: number;
  text: string;
  words: SttWord[];
  model_id: string;
  transcription_id: string;
  /** Not part of ElevenLabs' answer: tells anyone reading a stored result where it came from. */
  emulator: true;
}

export interface SttOptions {
  diarize: boolean;
  numSpeakers?: number;
  languageCode?: string;
  modelId?: string;
}

let transcriptionCounter = 0;

export interface TimedWord {
  text: string;
  start: number;
  end: number;
  speaker: string;
  logprob: number;
}

/** ElevenLabs' `words` list: word entries with a spacing entry between consecutive words, spanning the gap. */
export function elevenLabsWords(timed: readonly TimedWord[]): SttWord[] {
  const words: SttWord[] = [];
  for (const w of timed) {
    const prev = words[words.length - 1];
    if (prev) words.push({ text: " ", start: prev.end, end: w.start, type: "spacing", speaker_id: prev.speaker_id, logprob: 0 });
    words.push({ text: w.text, start: w.start, end: w.end, type: "word", speaker_id: w.speaker, logprob: w.logprob });
  }
  return words;
}

/** Pure core: mono PCM in, ElevenLabs-shaped response out. */
export function transcribePcm(samples: Int16Array, sampleRate: number, opts: SttOptions): SttResponse {
  const regions = detectRegions(samples, sampleRate);
  const speakers = opts.diarize
    ? assignSpeakers(
        regions.map((r) => regionPitch(samples, r.start, r.end, sampleRate)),
        opts.numSpeakers,
      )
    : regions.map(() => "speaker_0");

  const timedWords: TimedWord[] = [];
  const texts: string[] = [];
  regions.forEach((region, k) => {
    const line = scriptLine(k);
    texts.push(line);
    const speaker = speakers[k]!;
    const timed = spreadWords(line, toSeconds(region.start, sampleRate), toSeconds(region.end, sampleRate));
    for (const { word, start, end } of timed) timedWords.push({ text: word, start, end, speaker, logprob: WORD_LOGPROB });
  });
  const words = elevenLabsWords(timedWords);

  const requested = opts.modelId ?? "";
  return {
    language_code: opts.languageCode && opts.languageCode.length > 0 ? opts.languageCode : "en",
    language_probability: 1,
    text: texts.join(" "),
    words,
    model_id: requested.startsWith("emulator") ? requested : STT_DEFAULT_MODEL,
    transcription_id: `emulator-${Date.now().toString(36)}-${++transcriptionCounter}`,
    emulator: true,
  };
}

export function detail(status: number, code: string, message: string): HttpAnswer {
  return { status, body: { detail: { status: code, message } } };
}

function parseBool(v: FormDataEntryValue | null): boolean | undefined | "invalid" {
  if (v === null) return undefined;
  if (typeof v !== "string") return "invalid";
  const s = v.trim().toLowerCase();
  if (s === "true" || s === "1") return true;
  if (s === "false" || s === "0" || s === "") return false;
  return "invalid";
}

/** A validated speech-to-text request. */
export interface SttRequest {
  wav: DecodedWav;
  options: SttOptions;
}

/**
 * Parses and validates the multipart form (everything but credentials).
 * `who` prefixes error messages ("emulator").
 */
export async function parseSpeechToTextForm(
  contentType: string | string[] | undefined,
  body: Uint8Array<ArrayBuffer>,
  who: string,
): Promise<{ ok: true; request: SttRequest } | { ok: false; answer: HttpAnswer }> {
  const fail = (status: number, code: string, message: string) => ({ ok: false as const, answer: detail(status, code, `${who}: ${message}`) });
  if (typeof contentType !== "string" || !contentType.toLowerCase().startsWith("multipart/form-data")) {
    return fail(422, "invalid_request", "expected multipart/form-data");
  }

  let form: FormData;
  try {
    form = await new Request("http://engine.local/", {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    }).formData();
  } catch {
    return fail(422, "invalid_request", "could not parse the multipart body");
  }

  const file = form.get("file");
  if (file === null || typeof file === "string") return fail(422, "invalid_request", "a `file` part is required");
  const diarize = parseBool(form.get("diarize"));
  if (diarize === "invalid") return fail(422, "invalid_request", "diarize must be true or false");
  let numSpeakers: number | undefined;
  const ns = form.get("num_speakers");
  if (typeof ns === "string" && ns.trim() !== "") {
    numSpeakers = Number(ns);
    if (!Number.isInteger(numSpeakers) || numSpeakers < 1 || numSpeakers > 32) {
      return fail(422, "invalid_request", "num_speakers must be an integer 1-32");
    }
  }
  const granularity = form.get("timestamps_granularity");
  if (typeof granularity === "string" && granularity !== "" && !["word", "none", "character"].includes(granularity)) {
    return fail(422, "invalid_request", "timestamps_granularity must be none, word or character");
  }
  const languageCode = form.get("language_code");
  const modelId = form.get("model_id");

  let wav: DecodedWav;
  try {
    wav = parseWav(new Uint8Array(await file.arrayBuffer()));
  } catch (e) {
    return fail(422, "invalid_audio", e instanceof WavError ? e.message : "unreadable audio");
  }
  return {
    ok: true,
    request: {
      wav,
      options: {
        diarize: diarize === true,
        ...(numSpeakers !== undefined ? { numSpeakers } : {}),
        ...(typeof languageCode === "string" ? { languageCode } : {}),
        ...(typeof modelId === "string" ? { modelId } : {}),
      },
    },
  };
}

/** The HTTP handler, minus the socket: headers and the raw body in, status + JSON out. */
export async function handleSpeechToText(
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array<ArrayBuffer>,
): Promise<HttpAnswer> {
  const key = headers["xi-api-key"];
  if (typeof key !== "string" || key.trim() === "") {
    return detail(401, "missing_api_key", "emulator: the xi-api-key header is required (any non-empty value)");
  }
  const parsed = await parseSpeechToTextForm(headers["content-type"], body, "emulator");
  if (!parsed.ok) return parsed.answer;
  const { wav, options } = parsed.request;
  return { status: 200, body: transcribePcm(wav.samples, wav.sampleRate, options) };
}
