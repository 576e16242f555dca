/**
 * What a deployment needs, given its wrangler.toml vars and the names of the
 * secrets set on the Worker. Pure, so it is unit-tested; `npm run deploy`
 * feeds it real data. Ranges come from the worker's own table
 * (src/config/vars.ts), so the check and the worker refuse the same values.
 */
import { configProblems, isUrl as isUrlOf } from "../../src/config/vars";

export interface DeployInputs {
  vars: Record<string, string>;
  /** Secret names set on the Worker (`wrangler secret list`), or null when they could not be read. */
  secrets: string[] | null;
  r2Buckets: string[];
  queues: string[];
}

export interface Problem {
  what: string;
  fix: string;
}

const isUrl = (value: string | undefined, schemes: string[]) => Boolean(value) && isUrlOf(value!, schemes);

export function deployProblems({ vars, secrets, r2Buckets, queues }: DeployInputs): Problem[] {
  // Out of range: the deployed worker would answer every request with 503.
  const problems: Problem[] = configProblems(vars).map((p) => ({
    what: `${p.variable} is out of range (the worker would refuse to serve)`,
    fix: `set ${p.variable} to ${p.allowed} in wrangler.toml [vars]`,
  }));
  const needSecret = (name: string, why: string) => {
    if (secrets !== null && !secrets.includes(name)) {
      problems.push({ what: `secret ${name} is not set (${why})`, fix: `npx wrangler secret put ${name}` });
    }
  };
  needSecret("UPSTASH_REDIS_REST_URL", "session and job records");
  needSecret("UPSTASH_REDIS_REST_TOKEN", "session and job records");

  if (vars.REALTIME_ENGINE === "native" && !isUrl(vars.REALTIME_ENGINE_URL, ["ws:", "wss:", "http:", "https:"])) {
    problems.push({ what: "REALTIME_ENGINE is native but REALTIME_ENGINE_URL is not a ws(s):// URL", fix: "set REALTIME_ENGINE_URL in wrangler.toml [vars]" });
  }
  if (vars.REALTIME_ENGINE === "native" && /127\.0\.0\.1|localhost/.test(vars.REALTIME_ENGINE_URL ?? "")) {
    problems.push({ what: "REALTIME_ENGINE_URL points at this machine (the local emulator)", fix: "point it at your engine, or use REALTIME_ENGINE = \"workers-ai\"" });
  }
  if (vars.BATCH_ENGINE === "elevenlabs") {
    if (!isUrl(vars.BATCH_ENGINE_URL, ["https:", "http:"])) problems.push({ what: "BATCH_ENGINE is elevenlabs but BATCH_ENGINE_URL is not set", fix: "set BATCH_ENGINE_URL (e.g. https://api.elevenlabs.io)" });
    needSecret("BATCH_ENGINE_API_KEY", "the ElevenLabs-style batch engine");
  }
  if (vars.LLM_ENGINE === "openai") {
    if (!isUrl(vars.LLM_BASE_URL, ["https:", "http:"])) problems.push({ what: "LLM_ENGINE is openai but LLM_BASE_URL is not set", fix: "set LLM_BASE_URL (e.g. https://api.openai.com/v1)" });
    needSecret("LLM_API_KEY", "the OpenAI-compatible LLM");
  }
  for (const name of ["BATCH_ENGINE_URL", "LLM_BASE_URL"]) {
    if (/127\.0\.0\.1|localhost/.test(vars[name] ?? "")) problems.push({ what: `${name} points at this machine (the local emulator)`, fix: `point ${name} at your engine` });
  }
  if (vars.AUTH_MODE === "off") problems.push({ what: "AUTH_MODE is off: anyone could use the deployment", fix: 'set AUTH_MODE = "required"' });
  if (vars.DEV_FAULTS) problems.push({ what: "DEV_FAULTS is set: test fault injection must never run in a deployment", fix: "remove DEV_FAULTS" });
  for (const bucket of r2Buckets) {
    if (!bucket) problems.push({ what: "an R2 bucket binding has no bucket_name", fix: "set bucket_name in wrangler.toml" });
  }
  if (queues.length === 0) problems.push({ what: "no queue producer is configured", fix: "add [[queues.producers]] to wrangler.toml" });
  return problems;
}
