/** One session configuration for tests that build protocol or session parts by hand (pool and unit alike). */
import type { SessionConfig } from "../../src/protocol/params";

export const sessionConfig = (patch: Partial<SessionConfig> = {}): SessionConfig => ({
  model: "emulator-realtime",
  language: "en",
  encoding: "pcm_s16le",
  sample_rate: 16000,
  interim_results: true,
  word_timestamps: false,
  enable_vad: true,
  enhance_on_end: false,
  enhance_llm_cleanup: false,
  enhance_emotions: false,
  num_speakers: null,
  enhance_webhook_url: null,
  await_enhancement: false,
  ...patch,
});
