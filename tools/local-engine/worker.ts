/**
 * One worker thread = one PocketSphinx decoder. PocketSphinx calls are
 * synchronous and take real CPU (RTF 0.2–0.5), so sessions sharing one event
 * loop delay each other's results by seconds; a thread each keeps them apart
 * and keeps the socket-serving thread responsive.
 *
 * A worker serves one job at a time (a realtime session or a batch file) and is
 * reused afterwards: loading the model costs 0.6–0.9 s and ~100 MB.
 */
import { parentPort } from "node:worker_threads";
import type { EngineEvent } from "../../src/protocol/messages";
import { Recognizer, type Utterance } from "./recognizer";
import { Decoder, SPHINX_SAMPLE_RATE } from "./sphinx";
import { clusterSpeakers, voiceFeatures } from "./voice";

export type ToWorker =
  /** `job` stamps everything the worker sends back for this job (see Lease). */
  | { type: "open"; job: number; interimResults: boolean; wordTimestamps: boolean }
  | { type: "audio"; bytes: Uint8Array }
  | { type: "flush" }
  | { type: "end" }
  /** Close the current session without session.end (the client went away). */
  | { type: "reset" }
  | { type: "batch"; job: number; samples: Int16Array; diarize: boolean; numSpeakers?: number };

export interface BatchResult {
  utterances: Array<Utterance & { speaker: string }>;
  /** CPU-side decode time, for the bench. */
  decodeMs: number;
}

export type FromWorker =
  | { type: "ready"; loadMs: number }
  | { type: "event"; job: number; event: EngineEvent }
  | { type: "batch-result"; job: number; result: BatchResult }
  | { type: "failed"; job?: number; message: string };

/** Speaker features come from the words' span, which is tighter around the voice than the VAD region. */
function diarize(samples: Int16Array, utterances: Utterance[], numSpeakers: number | undefined): string[] {
  const features = utterances.map((u) =>
    voiceFeatures(samples, Math.floor(u.start * SPHINX_SAMPLE_RATE), Math.ceil(u.end * SPHINX_SAMPLE_RATE), SPHINX_SAMPLE_RATE),
  );
  return clusterSpeakers(features, numSpeakers);
}

function batch(decoder: Decoder, samples: Int16Array, diarizeIt: boolean, numSpeakers: number | undefined): BatchResult {
  const t0 = performance.now();
  const recognizer = new Recognizer(decoder, { interimResults: false, wordTimestamps: true }, () => {});
  // Fed in 100 ms pieces like a live stream: the segmenter's cut rules then apply identically.
  for (let at = 0; at < samples.length; at += SPHINX_SAMPLE_RATE / 10) recognizer.pushSamples(samples.subarray(at, at + SPHINX_SAMPLE_RATE / 10));
  recognizer.end();
  const spoken = recognizer.utterances.filter((u) => u.words.length > 0);
  const speakers = diarizeIt ? diarize(samples, spoken, numSpeakers) : spoken.map(() => "speaker_0");
  return { utterances: spoken.map((u, i) => ({ ...u, speaker: speakers[i]! })), decodeMs: performance.now() - t0 };
}

if (parentPort) {
  const port = parentPort;
  const post = (m: FromWorker): void => port.postMessage(m);
  const t0 = performance.now();
  let decoder: Decoder;
  try {
    decoder = new Decoder();
  } catch (err) {
    post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
    throw err;
  }
  post({ type: "ready", loadMs: performance.now() - t0 });
  let session: Recognizer | null = null;
  let job = 0;

  port.on("message", (m: ToWorker) => {
    try {
      switch (m.type) {
        case "open": {
          if (decoder.inUtterance) decoder.end();
          const current = (job = m.job);
          session = new Recognizer(decoder, m, (event) => post({ type: "event", job: current, event }));
          break;
        }
        case "audio":
          session?.pushBytes(m.bytes);
          break;
        case "flush":
          session?.flush();
          break;
        case "end":
          session?.end();
          session = null;
          break;
        case "reset":
          session = null;
          if (decoder.inUtterance) decoder.end();
          break;
        case "batch":
          job = m.job;
          post({ type: "batch-result", job, result: batch(decoder, m.samples, m.diarize, m.numSpeakers) });
          break;
      }
    } catch (err) {
      post({ type: "failed", job, message: err instanceof Error ? err.message : String(err) });
    }
  });
}
