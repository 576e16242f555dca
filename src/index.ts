/**
 * Worker entry: the HTTP/WebSocket gateway, the enhancement queue consumer and
 * the session Durable Object class.
 */
import { createApp } from "./gateway/app";
import { handleQueueBatch } from "./pipeline/consumer";
import type { AppEnv } from "./config";
import type { QueueMessage } from "./delivery/messages";

export { TranscriptionSession } from "./session/TranscriptionSession";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => handleQueueBatch(batch, env),
} satisfies ExportedHandler<AppEnv, QueueMessage>;
