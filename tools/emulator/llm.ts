/**
 * Deterministic stand-in for an OpenAI-compatible chat-completions LLM.
 *
 * The caller puts a JSON task in the last user message; the emulator answers it
 * with fixed rules (README, "LLM tasks") so pipeline tests can assert on exact
 * output, including the malformed-output path (magic tokens below).
 */
import type { HttpAnswer } from "./types";

export const CHAT_DEFAULT_MODEL = "emulator-chat";
/** In a cleanup segment: that segment's `text` comes back as the number 42. */
export const MALFORMED_TOKEN = "[[malformed]]";
/** Anywhere in the user message: the whole `content` is not JSON. */
export const NOT_JSON_TOKEN = "[[not-json]]";

export interface NameSegment {
  id: number;
  speaker: string;
  text: string;
}
export interface TextSegment {
  id: number;
  text: string;
}
export interface SpeakerName {
  id: string;
  name: string | null;
  /** The segment text that gave the name away; null when no name was found. */
  evidence: string | null;
}

/* ---------------------------- speaker_names ---------------------------- */

const NAME = String.raw`([A-Z][\p{L}'’-]*)`;
const SELF_INTRO = new RegExp(String.raw`(?:\b[Mm]y name is|\b[Ii] am|\b[Ii]['’]m|\b[Tt]his is)\s+${NAME}`, "u");
const GREETING = new RegExp(String.raw`^\s*(?:[Hh]i|[Hh]ello|[Hh]ey|[Tt]hanks|[Tt]hank you|[Dd]ear)[,!]?\s+${NAME}`, "u");
const VOCATIVE = new RegExp(String.raw`^\s*${NAME},`, "u");
/** Capitalised words that follow those patterns without being names. */
const NOT_NAMES = new Set(
  (
    "I A An The It We You He She They Not Just Really So Sorry Glad Here There That This And But Or " +
    "Hello Hi Hey Thanks Thank Yes No Yeah Well Oh Okay Ok Sure Right Great Good Fine Wow Um Uh Now Then"
  ).split(" "),
);

function nameIn(re: RegExp, text: string): string | null {
  const m = re.exec(text);
  const name = m?.[1]?.replace(/['’]s$/u, "") ?? null;
  return name !== null && !NOT_NAMES.has(name) ? name : null;
}

/*
 * Recognizer output (the local PocketSphinx engine) is lower case without
 * punctuation: "hi alice my name is bob". Capitalisation can then not tell a
 * name from a word, so only the unambiguous phrases count ("my name is X",
 * "call me X", a greeting "hi X" / "hello X" / "thanks X"), and X must not be
 * a common English word ("i am fine" names nobody).
 */
const LOWER_NAME = String.raw`([\p{Ll}][\p{Ll}'’-]*)`;
const LOWER_SELF_INTRO = new RegExp(String.raw`\b(?:my name is|my name's|call me)\s+${LOWER_NAME}`, "u");
const LOWER_GREETING = new RegExp(String.raw`^\s*(?:hi|hello|hey|thanks|thank you|dear)\s+${LOWER_NAME}`, "u");
/** Words that follow those phrases in recognizer output without being names. */
const LOWER_NOT_NAMES = new Set(
  [
    ...[...NOT_NAMES].map((w) => w.toLowerCase()),
    ..."everyone everybody all guys folks there again and to for is was my your our his her their me him us them".split(" "),
    ..."what how who when where why very much so too also still back is it's its a in on at of with from about".split(" "),
    ..."not no nobody someone something anyone going fine good glad happy sorry here thank".split(" "),
  ],
);

/** True for recognizer-style text: letters present, none of them upper case. */
export function isLowerCaseText(text: string): boolean {
  return /\p{L}/u.test(text) && !/\p{Lu}/u.test(text);
}

function capitalizeName(name: string): string {
  return name.replace(/(^|[-'’])(\p{Ll})/gu, (_, sep: string, c: string) => sep + c.toUpperCase());
}

function lowerNameIn(re: RegExp, text: string): string | null {
  const name = re.exec(text)?.[1]?.replace(/['’]s$/u, "") ?? null;
  return name !== null && !LOWER_NOT_NAMES.has(name) ? capitalizeName(name) : null;
}

function selfIntroName(text: string): string | null {
  return isLowerCaseText(text) ? lowerNameIn(LOWER_SELF_INTRO, text) : nameIn(SELF_INTRO, text);
}

function addressedName(text: string): string | null {
  return isLowerCaseText(text) ? lowerNameIn(LOWER_GREETING, text) : (nameIn(GREETING, text) ?? nameIn(VOCATIVE, text));
}

/**
 * Self-introductions ("my name is X", "I am X", "I'm X", "this is X") name the
 * segment's speaker and take precedence. Then addresses ("Hi X", "Hello X",
 * "Thanks X", "X, …" at the start) name the previous segment's speaker when it
 * is a different, still unnamed speaker and X is not already taken.
 * Lower-case recognizer text follows the stricter rules above.
 */
export function speakerNames(segments: readonly NameSegment[]): { speakers: SpeakerName[] } {
  const found = new Map<string, SpeakerName>();
  for (const s of segments) {
    if (!found.has(s.speaker)) found.set(s.speaker, { id: s.speaker, name: null, evidence: null });
  }
  const taken = (name: string): boolean => [...found.values()].some((v) => v.name === name);

  for (const s of segments) {
    const entry = found.get(s.speaker)!;
    const name = selfIntroName(s.text);
    if (entry.name === null && name !== null && !taken(name)) {
      entry.name = name;
      entry.evidence = s.text;
    }
  }
  segments.forEach((s, i) => {
    const prev = segments[i - 1];
    if (!prev || prev.speaker === s.speaker) return;
    const name = addressedName(s.text);
    const entry = found.get(prev.speaker)!;
    if (name !== null && entry.name === null && !taken(name)) {
      entry.name = name;
      entry.evidence = s.text;
    }
  });
  return { speakers: [...found.values()] };
}

/* ------------------------------- cleanup ------------------------------- */

const FILLER = /^(?:u+m+|u+h+|e+r+m+|e+r+|h+m+)$/i;

/**
 * Fillers (um, uh, erm, er, hmm and stretched forms, whole words, any case) are
 * removed together with the commas on both sides of them; spaces are collapsed,
 * the first letter capitalised and a "." added when there is no terminal
 * punctuation; in lower-case recognizer text "i" becomes "I". A text of
 * fillers only becomes "".
 */
export function cleanText(text: string): string {
  const out: string[] = [];
  for (const token of text.split(/\s+/).filter((t) => t.length > 0)) {
    const m = /^([^\p{L}\p{N}]*)([\p{L}\p{N}'’-]+)([^\p{L}\p{N}]*)$/u.exec(token);
    if (!m || !FILLER.test(m[2]!)) {
      out.push(token);
      continue;
    }
    const last = out.length - 1;
    if (last >= 0) out[last] = out[last]!.replace(/,+$/, "");
    const terminal = m[3]!.replace(/,/g, "");
    if (terminal && last >= 0) out[last] += terminal;
  }
  let s = out.join(" ").replace(/\s+/g, " ").trim().replace(/^[,;\s]+/, "").replace(/[,;]+$/, "");
  if (s === "") return "";
  // Recognizer output: the pronoun "i" (and i'm, i'll, i've, i'd) is always upper case in English.
  if (isLowerCaseText(s)) s = s.replace(/\bi\b(?=$|\s|['’])/gu, "I");
  s = s.charAt(0).toUpperCase() + s.slice(1);
  if (!/[.!?…]["'”’)\]]*$/u.test(s)) s += ".";
  return s;
}

export function cleanup(segments: readonly TextSegment[]): { segments: Array<{ id: number; text: string | number }> } {
  return {
    segments: segments.map((s) => ({ id: s.id, text: s.text.includes(MALFORMED_TOKEN) ? 42 : cleanText(s.text) })),
  };
}

/* ------------------------------- emotions ------------------------------ */

export const DEFAULT_EMOTION_LABELS = ["joy", "sadness", "anger", "fear", "surprise", "neutral"] as const;

/** First rule (in this order) whose label is offered and whose pattern matches wins. */
export const EMOTION_RULES: ReadonlyArray<readonly [label: string, pattern: RegExp]> = [
  ["joy", /\b(?:great|thanks|thank you|happy|glad|love|wonderful|awesome|excellent)\b|!/i],
  ["sadness", /\b(?:sorry|sad|rain|unfortunately|miss|missed|ruined)\b/i],
  ["anger", /\b(?:angry|annoyed|annoying|furious|hate|mad)\b/i],
  ["fear", /\b(?:afraid|worried|scared|nervous|frightened)\b/i],
  ["surprise", /\b(?:wow|surprised|unbelievable)\b|\breally\?/i],
];
export const EMOTION_HIT_CONFIDENCE = 0.8;
export const EMOTION_NEUTRAL_CONFIDENCE = 0.6;

export function emotions(
  labels: readonly string[],
  segments: readonly TextSegment[],
): { segments: Array<{ id: number; label: string; confidence: number }> } {
  const offered = labels.length > 0 ? labels : DEFAULT_EMOTION_LABELS;
  const pick = (want: string): string | undefined => offered.find((l) => l.toLowerCase() === want);
  const fallback = pick("neutral") ?? offered[0]!;
  return {
    segments: segments.map((s) => {
      for (const [label, pattern] of EMOTION_RULES) {
        const l = pick(label);
        if (l !== undefined && pattern.test(s.text)) return { id: s.id, label: l, confidence: EMOTION_HIT_CONFIDENCE };
      }
      return { id: s.id, label: fallback, confidence: EMOTION_NEUTRAL_CONFIDENCE };
    }),
  };
}

/* ----------------------------- dispatching ----------------------------- */

export type TaskResult = { ok: true; result: unknown } | { ok: false; message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function segmentsOf(task: Record<string, unknown>, needSpeaker: boolean): NameSegment[] | null {
  const list = task.segments;
  if (!Array.isArray(list)) return null;
  const out: NameSegment[] = [];
  for (const s of list) {
    if (!isRecord(s) || typeof s.text !== "string" || (typeof s.id !== "number" && typeof s.id !== "string")) return null;
    if (needSpeaker && typeof s.speaker !== "string") return null;
    out.push({ id: s.id as number, speaker: typeof s.speaker === "string" ? s.speaker : "", text: s.text });
  }
  return out;
}

/** Runs one task object (already parsed from the user message). */
export function runTask(task: unknown): TaskResult {
  if (!isRecord(task) || typeof task.task !== "string") return { ok: false, message: "emulator: unknown task" };
  switch (task.task) {
    case "speaker_names": {
      const segs = segmentsOf(task, true);
      return segs ? { ok: true, result: speakerNames(segs) } : { ok: false, message: "emulator: invalid speaker_names input" };
    }
    case "cleanup": {
      const segs = segmentsOf(task, false);
      return segs ? { ok: true, result: cleanup(segs) } : { ok: false, message: "emulator: invalid cleanup input" };
    }
    case "emotions": {
      const segs = segmentsOf(task, false);
      const labels = task.labels;
      if (!segs || (labels !== undefined && (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")))) {
        return { ok: false, message: "emulator: invalid emotions input" };
      }
      return { ok: true, result: emotions((labels as string[] | undefined) ?? [], segs) };
    }
    default:
      return { ok: false, message: "emulator: unknown task" };
  }
}

/** Text of an OpenAI message content: a string, or an array of `{type:"text", text}` parts. */
function contentText(content: unknown): string | null {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const parts = content.filter(isRecord).filter((p) => typeof p.text === "string");
    return parts.length > 0 ? parts.map((p) => p.text as string).join("") : null;
  }
  return null;
}

let completionCounter = 0;

function openAiError(status: number, message: string, type: string, code?: string): HttpAnswer {
  return { status, body: { error: { message, type, param: null, code: code ?? null } } };
}

export function handleChatCompletion(
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array,
): HttpAnswer {
  const auth = headers.authorization;
  if (typeof auth !== "string" || !/^Bearer\s+\S+/i.test(auth)) {
    return openAiError(401, "emulator: a Bearer API key is required (any non-empty value)", "invalid_request_error", "invalid_api_key");
  }
  let req: unknown;
  try {
    req = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return openAiError(400, "emulator: request body is not JSON", "invalid_request_error");
  }
  if (!isRecord(req) || !Array.isArray(req.messages)) {
    return openAiError(400, "emulator: `messages` is required", "invalid_request_error");
  }
  const lastUser = [...req.messages].reverse().find((m) => isRecord(m) && m.role === "user");
  const userText = isRecord(lastUser) ? contentText(lastUser.content) : null;
  let task: unknown = null;
  try {
    task = userText !== null ? JSON.parse(userText) : null;
  } catch {
    task = null;
  }
  const outcome = runTask(task);
  if (!outcome.ok) return openAiError(400, outcome.message, "invalid_request_error");

  const content = userText!.includes(NOT_JSON_TOKEN) ? "emulator: this is not JSON {" : JSON.stringify(outcome.result);
  const asked = typeof req.model === "string" ? req.model : "";
  const promptTokens = Math.ceil(JSON.stringify(req.messages).length / 4);
  const completionTokens = Math.ceil(content.length / 4);
  return {
    status: 200,
    body: {
      id: `chatcmpl-emulator-${Date.now().toString(36)}-${++completionCounter}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      // Echo only names that still say "emulator": a stored result must never look like a real model's.
      model: asked.includes("emulator") ? asked : CHAT_DEFAULT_MODEL,
      system_fingerprint: "emulator",
      choices: [{ index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    },
  };
}
