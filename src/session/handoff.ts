/**
 * What the gateway hands a session object with the upgrade request: the
 * validated session, typed on both sides. The gateway encodes it; the object
 * decodes it with a schema check, so a malformed hand-off is refused, never
 * half-read (the way partyserver pairs encodeProps/decodeProps).
 */
import { z } from "zod";
import { PROTOCOL_NAMES } from "../protocol/client-protocol";
import type { DeepgramLiveOptions } from "../protocol/deepgram/params";
import { AUDIO_ENCODINGS } from "../protocol/messages";
import type { SessionConfig } from "../protocol/params";

/** The one header that carries the hand-off. */
const HANDOFF_HEADER = "x-session-handoff";
/** Test-only fault injection, honoured only where DEV_FAULTS=enabled (never in a deployment). */
export const DEV_FAULTS_HEADER = "x-dev-faults";

/** The session's parameters as the gateway validated and resolved them; also the `params` of its record (src/gateway/schemas.ts). */
export const sessionConfigSchema = z.object({
  model: z.string(),
  language: z.string(),
  encoding: z.enum(AUDIO_ENCODINGS),
  sample_rate: z.number().int().positive(),
  interim_results: z.boolean(),
  word_timestamps: z.boolean(),
  enable_vad: z.boolean(),
  enhance_on_end: z.boolean(),
  enhance_llm_cleanup: z.boolean(),
  enhance_emotions: z.boolean(),
  num_speakers: z.number().int().positive().nullable(),
  enhance_webhook_url: z.string().nullable(),
  await_enhancement: z.boolean(),
}) satisfies z.ZodType<SessionConfig>;

const deepgramOptionsSchema = z.object({
  vad_events: z.boolean(),
  utterance_end_ms: z.number().int().positive().nullable(),
  endpointing: z.boolean(),
  punctuate: z.boolean(),
  warnings: z.array(z.object({ parameter: z.string(), type: z.literal("unsupported_parameter"), message: z.string() })),
}) satisfies z.ZodType<DeepgramLiveOptions>;

const sessionId = z.string().regex(/^sess_[0-9a-z]{26,}$/);
/** Id of the API key the caller authenticated with ("anonymous" with auth off). */
const owner = z.string().min(1);

const handoffSchema = z.discriminatedUnion("kind", [
  /** A new session. */
  z.object({
    kind: z.literal("start"),
    sessionId,
    config: sessionConfigSchema,
    owner,
    /** The gateway took a concurrency slot that the session must release when it ends. */
    holdsSlot: z.boolean(),
    /** The wire protocol the client speaks (src/protocol/client-protocol.ts). */
    protocol: z.enum(PROTOCOL_NAMES),
    /** With protocol "deepgram": what its renderer needs beyond the config. */
    deepgram: deepgramOptionsSchema.optional(),
  }),
  /** A new connection to a live session (DESIGN §4.3.1); the object checks the owner and the token. */
  z.object({
    kind: z.literal("resume"),
    sessionId,
    owner,
    resumeToken: z.string().max(256),
  }),
]);

export type SessionHandoff = z.infer<typeof handoffSchema>;
export type StartHandoff = Extract<SessionHandoff, { kind: "start" }>;
export type ResumeHandoff = Extract<SessionHandoff, { kind: "resume" }>;

export interface DevFaults {
  /** Queue sends still to fail. */
  queueSend: number;
}

export class HandoffError extends Error {}

/** Put the hand-off on the headers of the request forwarded to the object. */
export function encodeHandoff(handoff: SessionHandoff, headers: Headers): void {
  headers.set(HANDOFF_HEADER, JSON.stringify(handoffSchema.parse(handoff)));
}

/** Read and check the hand-off; throws HandoffError when it is missing or malformed. */
export function decodeHandoff(request: Request): SessionHandoff {
  let raw: unknown;
  try {
    raw = JSON.parse(request.headers.get(HANDOFF_HEADER) ?? "null");
  } catch {
    throw new HandoffError("the session hand-off is not JSON");
  }
  const parsed = handoffSchema.safeParse(raw);
  if (!parsed.success) throw new HandoffError(`the session hand-off is malformed: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

/** The faults a test asked for, where the deployment allows them at all. */
export function decodeDevFaults(request: Request, enabled: boolean): DevFaults {
  if (!enabled) return { queueSend: 0 };
  const spec = new URLSearchParams(request.headers.get(DEV_FAULTS_HEADER) ?? "");
  return { queueSend: Math.max(0, Number(spec.get("queue_send") ?? 0) || 0) };
}
