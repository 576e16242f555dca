/**
 * The one table of configuration variables with a range or an allowed set:
 * the worker (readConfig) and the deploy check (tools/deploy) both validate
 * against it, and the README's configuration table mirrors it. A value outside
 * its range is an error, never replaced by the default: a misconfigured
 * deployment must fail loudly (issue 12, finding 6).
 *
 * Pure (no Workers types), so the Node tools can import it.
 */

export const MIB = 1024 * 1024;

/** R2 multipart: every part but the last must be at least this long. */
export const MIN_PART_BYTES = 5 * MIB;

export type VarSpec =
  /** A whole number in [min, max]; unset or empty means `default`. */
  | { kind: "int"; min: number; max: number; default: number; unit?: string }
  /** One of `values`; unset or empty means `default` (null: no default, the feature is off). */
  | { kind: "enum"; values: readonly string[]; default: string | null }
  /** A number (decimals allowed) in [min, max]; unset or empty means null (the engine's own default). */
  | { kind: "optionalNumber"; min: number; max: number; unit?: string }
  /** Empty (not used), or an absolute URL with one of `schemes`. */
  | { kind: "url"; schemes: readonly string[] };

const int = (min: number, max: number, fallback: number, unit?: string): VarSpec => ({
  kind: "int",
  min,
  max,
  default: fallback,
  ...(unit ? { unit } : {}),
});
const oneOf = (values: readonly string[], fallback: string | null): VarSpec => ({ kind: "enum", values, default: fallback });
const optionalNumber = (min: number, max: number, unit?: string): VarSpec => ({ kind: "optionalNumber", min, max, ...(unit ? { unit } : {}) });
const WS_URL: VarSpec = { kind: "url", schemes: ["ws:", "wss:", "http:", "https:"] };
const HTTP_URL: VarSpec = { kind: "url", schemes: ["http:", "https:"] };

/**
 * Every validated variable. Maxima are real limits, not taste: Cloudflare's
 * WebSocket message (1 MiB) and request body (100 MiB) limits, the 128 MB
 * isolate (three recorder parts are in flight at once), and the 4 GiB a WAV
 * header can describe (37 h of 16 kHz s16).
 */
export const CONFIG_VARS = {
  REALTIME_ENGINE: oneOf(["native", "workers-ai"], "native"),
  REALTIME_ENGINE_URL: WS_URL,
  REALTIME_FALLBACK_ENGINE: oneOf(["native", "workers-ai"], null),
  REALTIME_FALLBACK_URL: WS_URL,
  BATCH_ENGINE: oneOf(["elevenlabs", "workers-ai", "none"], "elevenlabs"),
  BATCH_ENGINE_URL: HTTP_URL,
  LLM_ENGINE: oneOf(["openai", "workers-ai", "none"], "none"),
  LLM_BASE_URL: HTTP_URL,
  IDLE_TIMEOUT_SECONDS: int(1, 86_400, 60, "s"),
  // 134,217 s of 16 kHz s16 is the most a WAV header's 32-bit sizes can describe.
  MAX_SESSION_SECONDS: int(1, 134_217, 10_800, "s"),
  MAX_FRAME_BYTES: int(2, MIB, 262_144, "bytes"),
  RECORDER_BUFFER_MS: int(0, 60_000, 1000, "ms"),
  RECORDER_PART_BYTES: int(MIN_PART_BYTES, 16 * MIB, MIN_PART_BYTES, "bytes"),
  CLIENT_GONE_GRACE_SECONDS: int(0, 3600, 60, "s"),
  ENGINE_END_TIMEOUT_MS: int(100, 60_000, 5000, "ms"),
  RECORD_TTL_SECONDS: int(60, 31_536_000, 604_800, "s"),
  MAX_UPLOAD_BYTES: int(1, 100 * MIB, 64 * MIB, "bytes"),
  AUTH_MODE: oneOf(["required", "off"], "required"),
  MAX_CONCURRENT_SESSIONS_PER_KEY: int(1, 10_000, 10),
  AUTH_TOKEN_TTL_SECONDS: int(5, 3600, 60, "s"),
  MAX_MESSAGES_PER_SECOND: int(1, 1_000_000, 1000, "per s"),
  MAX_REQUEST_BODY_BYTES: int(1024, MIB, 65_536, "bytes"),
  /**
   * How long an unfinished enhancement job may go without news before the
   * sweeper re-queues it. Keep it above 900 s in a deployment: one consumer
   * invocation may run 15 minutes, and a shorter lease re-queues jobs that
   * are still running (harmless, the consumer is idempotent, but wasted work).
   * Tests use a second or two.
   */
  JOB_LEASE_SECONDS: int(1, 86_400, 1200, "s"),
  DEV_FAULTS: oneOf(["enabled"], null),
  /** How long an engine has to accept a link. */
  REALTIME_CONNECT_TIMEOUT_MS: int(100, 120_000, 10_000, "ms"),
  /** Most audio queued while a link connects (default 60 s); past it the link fails (the recording has it all). */
  REALTIME_MAX_PENDING_BYTES: int(32_000, 16 * MIB, 1_920_000, "bytes"),
  /** nova-3: silence before Deepgram finalizes with speech_final (its own default, 10, splits sentences). */
  WORKERS_AI_NOVA3_ENDPOINTING_MS: int(10, 60_000, 300, "ms"),
  /** nova-3: gap after the last finalized word that produces UtteranceEnd (Deepgram's minimum is 1000). */
  WORKERS_AI_NOVA3_UTTERANCE_END_MS: int(1000, 60_000, 1000, "ms"),
  /** nova-3: numerals, punctuation and casing. */
  WORKERS_AI_NOVA3_SMART_FORMAT: oneOf(["true", "false"], "true"),
  /** flux: end-of-turn confidence that ends a turn; unset keeps Flux's default. */
  WORKERS_AI_FLUX_EOT_THRESHOLD: optionalNumber(0.5, 0.9),
  /** flux: silence after which a turn ends regardless of confidence; unset keeps Flux's default. */
  WORKERS_AI_FLUX_EOT_TIMEOUT_MS: optionalNumber(1, 3_600_000, "ms"),
  /** flux: what `flush` does (README "Engines"): close the turn on our side, send ForceEndTurn, or nothing. */
  WORKERS_AI_FLUX_FLUSH: oneOf(["local", "ForceEndTurn", "none"], "local"),
  /** Each webhook POST is abandoned after this long. */
  WEBHOOK_TIMEOUT_MS: int(100, 30_000, 10_000, "ms"),
  /** Attempts per webhook event, the first included; waits grow 4× from the base (12 spans the Queue's 12 h delay limit). */
  WEBHOOK_MAX_ATTEMPTS: int(1, 12, 8),
  WEBHOOK_RETRY_BASE_SECONDS: int(1, 3600, 10, "s"),
  /** Local development only: http:// and loopback/private webhook hosts. */
  WEBHOOK_ALLOW_LOCAL_URLS: oneOf(["true", "false"], "false"),
  /** Results larger than this (bytes of JSON) are referenced by path instead of inlined. */
  WEBHOOK_INLINE_MAX_BYTES: int(0, MIB, 262_144, "bytes"),
  /** Longest a socket that asked for await_enhancement is held open after session.end. */
  ENHANCEMENT_AWAIT_MAX_SECONDS: int(1, 86_400, 900, "s"),
} as const satisfies Record<string, VarSpec>;

export type ConfigVar = keyof typeof CONFIG_VARS;

/** One variable outside its allowed range. Names the variable and what is allowed, never the value (it may be a URL with credentials). */
export interface ConfigProblem {
  variable: ConfigVar;
  allowed: string;
}

/** What a variable accepts, in words: the README and every error message use this. */
export function describeAllowed(spec: VarSpec): string {
  switch (spec.kind) {
    case "int":
      return `a whole number from ${spec.min} to ${spec.max}${spec.unit ? ` (${spec.unit})` : ""}`;
    case "enum":
      return `one of ${spec.values.map((v) => `"${v}"`).join(", ")}${spec.default === null ? " (or empty)" : ""}`;
    case "url":
      return `empty, or a URL starting ${spec.schemes.map((s) => `${s}//`).join(", ")}`;
    case "optionalNumber":
      return `empty, or a number from ${spec.min} to ${spec.max}${spec.unit ? ` (${spec.unit})` : ""}`;
  }
}

export const isUrl = (value: string, schemes: readonly string[]): boolean => {
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

/** Unset: absent or empty (wrangler passes TOML numbers through as numbers). Not trimmed: " 60" is refused, not guessed at. */
const text = (value: unknown): string => (value === undefined || value === null ? "" : String(value));

function valid(spec: VarSpec, raw: string): boolean {
  switch (spec.kind) {
    case "int": {
      if (!/^\d+$/.test(raw)) return false;
      const n = Number(raw);
      return n >= spec.min && n <= spec.max;
    }
    case "enum":
      return spec.values.includes(raw);
    case "url":
      return isUrl(raw, spec.schemes);
    case "optionalNumber": {
      if (!/^\d+(\.\d+)?$/.test(raw)) return false;
      const n = Number(raw);
      return n >= spec.min && n <= spec.max;
    }
  }
}

/** Every variable in `vars` that is set to something its spec does not allow. */
export function configProblems(vars: Readonly<Record<string, unknown>>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [variable, spec] of Object.entries(CONFIG_VARS) as [ConfigVar, VarSpec][]) {
    const raw = text(vars[variable]);
    if (raw !== "" && !valid(spec, raw)) problems.push({ variable, allowed: describeAllowed(spec) });
  }
  return problems;
}

export const describeProblem = (p: ConfigProblem) => `${p.variable} must be ${p.allowed}`;

/** Thrown by readConfig when any variable is out of range; names every one. */
export class ConfigError extends Error {
  override name = "ConfigError";

  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid configuration: ${problems.map(describeProblem).join("; ")}`);
  }

  /** Each problem as "NAME must be …", for messages and log lines. */
  get descriptions(): string[] {
    return this.problems.map(describeProblem);
  }
}

/** The value of a validated whole-number variable, or its default when unset. Call after {@link configProblems} found nothing. */
export function intVar(vars: Readonly<Record<string, unknown>>, name: ConfigVar): number {
  const spec = CONFIG_VARS[name] as VarSpec;
  if (spec.kind !== "int") throw new TypeError(`${name} is not a whole-number variable`);
  const raw = text(vars[name]);
  return raw === "" ? spec.default : Number(raw);
}

/** The value of a validated enum variable, its default when unset (null: unset and no default). */
export function enumVar<T extends string>(vars: Readonly<Record<string, unknown>>, name: ConfigVar): T | null {
  const spec = CONFIG_VARS[name] as VarSpec;
  if (spec.kind !== "enum") throw new TypeError(`${name} is not an enum variable`);
  const raw = text(vars[name]);
  return (raw === "" ? spec.default : raw) as T | null;
}

/** The value of a validated optional-number variable, or null when unset. */
export function optionalNumberVar(vars: Readonly<Record<string, unknown>>, name: ConfigVar): number | null {
  const spec = CONFIG_VARS[name] as VarSpec;
  if (spec.kind !== "optionalNumber") throw new TypeError(`${name} is not an optional-number variable`);
  const raw = text(vars[name]);
  return raw === "" ? null : Number(raw);
}
