/**
 * From engine events (already on the stream timeline) to what the client
 * asked to hear: VAD only with enable_vad, partials only with
 * interim_results, words only with word_timestamps; engine errors become
 * recoverable `engine_unavailable` errors. Finals with text are kept (the
 * session's live transcript).
 */
import { ERROR_CODES, type EngineEvent } from "../protocol/messages";
import type { SessionConfig } from "../protocol/params";
import type { SessionEvent } from "../protocol/client-protocol";
import type { FinalSegment } from "./state";

export interface LiveOutcome {
  /** What to tell the client, if anything. */
  event: SessionEvent | null;
  /** A final to keep in the live transcript. */
  final: FinalSegment | null;
}

/**
 * @param lastFinalEnd where the last final kept ends (stream seconds): text
 * for audio up to there was already sent, so an engine that hears that audio
 * again (a client re-sending after a restart lost the object's memory) cannot
 * make the client hear it twice.
 */
export function liveEvent(event: EngineEvent, config: SessionConfig, lastFinalEnd: number): LiveOutcome {
  const seen = (end: number) => end <= lastFinalEnd + 0.001;
  switch (event.type) {
    case "vad.speech_start":
    case "vad.speech_end":
      // A final is followed by the speech_end at its own end: only VAD strictly inside covered audio is stale.
      return { event: config.enable_vad && event.timestamp >= lastFinalEnd - 0.001 ? event : null, final: null };
    case "transcript.partial":
      return { event: config.interim_results && !seen(event.end) ? event : null, final: null };
    case "transcript.final": {
      if (seen(event.end)) return { event: null, final: null };
      const { type: _type, words, ...rest } = event;
      const final = { ...rest, ...(config.word_timestamps ? { words: words ?? [] } : {}) };
      return { event: { type: "transcript.final", ...final }, final: final.text.trim() !== "" ? final : null };
    }
    case "error":
      return {
        event: { type: "error", code: ERROR_CODES.engineUnavailable, message: `engine: ${event.message}`, recoverable: true },
        final: null,
      };
    case "session.end":
      return { event: null, final: null };
  }
}
