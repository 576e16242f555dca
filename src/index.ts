/**
 * Worker entry: the HTTP/WebSocket gateway, the enhancement queue consumer,
 * the scheduled repair of stalled jobs and the session Durable Object class.
 */
import { createApp } from "./gateway/app";
import { handleQueueBatch } from "./pipeline/consumer";
import { sweepStalledJobs } from "./pipeline/sweeper";
import type { AppEnv } from "./config";
import type { QueueMessage } from "./delivery/messages";

export { TranscriptionSession } from "./session/TranscriptionSession";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => handleQueueBatch(batch, env),
  // [triggers] crons in wrangler.toml; locally GET /__scheduled (README "Stalled jobs").
  scheduled: async (controller, env) => {
    await sweepStalledJobs(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<AppEnv, QueueMessage>;
