/**
 * `npm run dev`: the whole local stack on fixed ports, until Ctrl-C / SIGTERM.
 */
import path from "node:path";
import { SCHEDULED_PATH, startStack } from "./stack/stack";

const stack = await startStack({
  persistTo: path.resolve(import.meta.dirname, "../.wrangler/state"),
  verbose: process.argv.includes("--verbose"),
  // redis-server is chatty at start; keep its readiness and errors only.
  log: (line) => {
    if (!line.startsWith("[redis]") || /ready on|error/i.test(line)) console.log(line);
  },
});

console.log(`
  edge-transcribe local stack is up
    service    ${stack.url}   (wrangler dev, local only)
    stream     ${stack.wsUrl}/v1/audio/transcriptions/stream
    redis      127.0.0.1:${stack.redisPort} behind the Upstash bridge at ${stack.bridgeUrl}
    engines    ${stack.emulatorUrl}  (LOCAL EMULATOR: deterministic text, not real speech recognition)
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
