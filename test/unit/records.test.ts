// Job records and queue messages are made in one place (src/store/records.ts). A message the
// Queue refuses can never be delivered, so its size must be bounded by what can be built,
// not by what clients happen to send: these tests build the largest one possible.
import { serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { MAX_LANGUAGE_LENGTH, MAX_SPEAKERS } from "../../src/protocol/params";
import { newJobId, newSessionId } from "../../src/store/ids";
import { r2Keys, UPLOAD_AUDIO_NAME } from "../../src/store/keys";
import { jobMessage, jobParameters, pendingJob, QUEUE_MESSAGE_LIMIT_BYTES } from "../../src/store/records";

/** Every parameter at its cap; the language in the characters that cost most as JSON (\u0000 → 6 bytes) and as UTF-8. */
function largestParameters(language: string) {
  return jobParameters({ llm_cleanup: true, emotions: true, num_speakers: MAX_SPEAKERS, language });
}

/** A message's size as the Queue may carry it: JSON (UTF-8) or the default V8 serialisation. */
const messageBytes = (message: unknown) => Math.max(new TextEncoder().encode(JSON.stringify(message)).length, serialize(message).length);

describe("queue messages", () => {
  it("the largest message that can be built is far below the Queue's 128 KB limit", () => {
    let largest = 0;
    for (const char of ["\u0000", "\u20ac", "\u{1F600}", "a"]) {
      const language = char.repeat(MAX_LANGUAGE_LENGTH).slice(0, MAX_LANGUAGE_LENGTH);
      const sessionId = newSessionId();
      const jobId = newJobId();
      const common = { id: jobId, owner: "key_test", created_at: new Date().toISOString(), parameters: largestParameters(language) };
      const fromSession = pendingJob({ ...common, source: "session", source_session_id: sessionId, audio_key: r2Keys.recording(sessionId) });
      const fromUpload = pendingJob({ ...common, source: "upload", source_session_id: null, audio_key: r2Keys.upload(jobId, UPLOAD_AUDIO_NAME) });
      largest = Math.max(largest, messageBytes(jobMessage(fromSession)), messageBytes(jobMessage(fromUpload)));
    }
    expect(QUEUE_MESSAGE_LIMIT_BYTES).toBe(128_000);
    expect(largest).toBeLessThanOrEqual(1024);
    expect(largest * 100).toBeLessThan(QUEUE_MESSAGE_LIMIT_BYTES);
  });

  it("job parameters cannot be built with a language over the cap or a speaker count out of range", () => {
    expect(largestParameters("x".repeat(MAX_LANGUAGE_LENGTH)).language).toHaveLength(MAX_LANGUAGE_LENGTH);
    expect(() => largestParameters("x".repeat(MAX_LANGUAGE_LENGTH + 1))).toThrow(RangeError);
    expect(() => largestParameters("en-abcdefgh".repeat(20_000))).toThrow(/at most 35 characters/);
    for (const num_speakers of [0, MAX_SPEAKERS + 1, 2.5, Number.NaN]) {
      expect(() => jobParameters({ llm_cleanup: false, emotions: false, num_speakers, language: "auto" }), `${num_speakers}`).toThrow(RangeError);
    }
    // Only the known fields: nothing a caller adds rides along into the record or the message.
    const extra = { llm_cleanup: false, emotions: false, num_speakers: null, language: "en", note: "x".repeat(100_000) };
    expect(Object.keys(jobParameters(extra))).toEqual(["speaker_detection", "word_timestamps", "llm_cleanup", "emotions", "num_speakers", "language"]);
  });
});
