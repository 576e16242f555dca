/**
 * `npm run dev`: the whole local stack until Ctrl-C / SIGTERM.
 *
 *   npm run dev                          real speech (local PocketSphinx engine) when it can be installed, else the emulator
 *   npm run dev -- --engine emulator     the scripted emulator (deterministic text)
 *   npm run dev -- --port 8788           service port (or PORT=8788); internal parts always take free ports
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { LocalEngineUnavailableError } from "./local-engine/launch";
import { DEFAULT_SERVICE_PORT, SCHEDULED_PATH, ServicePortTakenError, startStack, type Stack, type StackOptions } from "./stack/stack";

const { values } = parseArgs({
  options: {
    engine: { type: "string" },
    port: { type: "string", default: process.env.PORT ?? String(DEFAULT_SERVICE_PORT) },
    verbose: { type: "boolean", default: false },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`invalid port "${values.port}" (expected 1-65535)`);
if (values.engine !== undefined && values.engine !== "local" && values.engine !== "emulator") {
  fail(`unknown --engine "${values.engine}" (expected local or emulator)`);
}

const options: StackOptions = {
  port,
  persistTo: path.resolve(import.meta.dirname, "../.wrangler/state"),
  verbose: values.verbose,
  // redis-server is chatty at start; keep its readiness and errors only.
  log: (line) => {
    if (!line.startsWith("[redis]") || /ready on|error/i.test(line)) console.log(line);
  },
};

let stack: Stack;
try {
  const wanted = (values.engine as "local" | "emulator" | undefined) ?? "local";
  try {
    stack = await startStack({ ...options, engine: wanted });
  } catch (err) {
    // Real speech is the default only when it can run here; asked for explicitly, its absence is an error.
    if (!(err instanceof LocalEngineUnavailableError) || values.engine === "local") throw err;
    console.log(`\n  local speech engine unavailable: ${err.message}\n  falling back to the emulator (scripted text).\n`);
    stack = await startStack({ ...options, engine: "emulator" });
  }
} catch (err) {
  if (err instanceof ServicePortTakenError || err instanceof LocalEngineUnavailableError) fail(err.message);
  throw err;
}

const engineLine =
  stack.engine.kind === "local"
    ? `${stack.engine.url}  (LOCAL SPEECH ENGINE: PocketSphinx en-US, real recognition, offline; names/cleanup/emotions by the rule-based stand-in at ${stack.emulatorUrl})`
    : `${stack.emulatorUrl}  (LOCAL EMULATOR: deterministic text, not real speech recognition)`;
console.log(`
  edge-transcribe local stack is up
    service    ${stack.url}   (wrangler dev, local only)
    page       ${stack.url}/   (speak into the browser; Stop shows the enhanced transcript)
    stream     ${stack.wsUrl}/v1/audio/transcriptions/stream
    redis      127.0.0.1:${stack.redisPort} behind the Upstash bridge at ${stack.bridgeUrl}
    engine     ${engineLine}
    auth       ${stack.vars.AUTH_MODE === "off" ? "OFF: no API key needed (local dev only; deployments require keys)" : "required"}
    sweeper    curl ${stack.url}${SCHEDULED_PATH}   (the cron trigger: re-queues stalled jobs)

  try:  npm run stream -- path/to/audio.wav
  Ctrl-C stops everything.
`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the local stack…`);
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

function fail(message: string): never {
  console.error(`npm run dev: ${message}`);
  process.exit(1);
}
