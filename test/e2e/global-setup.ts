/** Starts the real local stack once for the e2e suite (the same code as `npm run dev`). */
import type { TestProject } from "vitest/node";
import { findFreePort } from "../../tools/stack/redis";
import { startStack } from "../../tools/stack/stack";

/** A Standard Webhooks secret (whsec_ + base64 of 24 bytes) for the suite's local receivers. */
export const E2E_WEBHOOK_SECRET = "whsec_ZTJlLXdlYmhvb2stc2VjcmV0LWZvci10ZXN0cyE=";

export const E2E_VARS = {
  CLIENT_GONE_GRACE_SECONDS: "2",
  IDLE_TIMEOUT_SECONDS: "20",
  DEV_FAULTS: "enabled",
  // The recording tests send thousands of tiny frames a second on purpose; the limit itself is tested in auth.test.ts.
  MAX_MESSAGES_PER_SECOND: "1000000",
  // Webhooks of key-less sessions (auth is off here) are signed with this; retries come after 1 s, 4 s, 16 s.
  WEBHOOK_SIGNING_SECRET: E2E_WEBHOOK_SECRET,
  WEBHOOK_RETRY_BASE_SECONDS: "1",
  WEBHOOK_MAX_ATTEMPTS: "3",
};

export default async function setup(project: TestProject) {
  const stack = await startStack({
    port: await findFreePort(),
    redisPort: 0,
    bridgePort: 0,
    emulatorPort: 0,
    vars: E2E_VARS,
    // Only problems: the services are chatty and vitest shows this output inline.
    log: (line) => {
      if (/error|fail|warn/i.test(line) && !line.startsWith("[redis]")) process.stderr.write(`${line}\n`);
    },
  });
  project.provide("serviceUrl", stack.url);
  project.provide("bridgeUrl", stack.bridgeUrl);
  project.provide("bridgeToken", stack.token);
  project.provide("emulatorUrl", stack.emulatorUrl);
  return () => stack.stop();
}

