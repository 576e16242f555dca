/** The shared e2e stack (test/e2e/global-setup.ts), as the suites address it. */
import { afterEach, inject } from "vitest";

export const service = () => inject("serviceUrl");

export const STREAM_PATH = "/v1/audio/transcriptions/stream";

/** The stream endpoint of a service base URL (http or ws), with a query. */
export const streamUrl = (base: string, query = "") =>
  `${base.replace(/^http/, "ws")}${STREAM_PATH}${query ? `?${query}` : ""}`;

export const wsUrl = (query = "") => streamUrl(service(), query);

/** POST to the emulator's control API (`/__emulator/control`, `/__emulator/reset`). */
export const emulator = (path: string, body?: unknown) =>
  fetch(`${inject("emulatorUrl")}${path}`, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

/** Put the emulator back to normal after each test that made it misbehave. */
export function resetEmulatorAfterEach(): void {
  afterEach(async () => {
    await emulator("/__emulator/reset");
  });
}
