/**
 * nova-3 (Deepgram /v1/listen through Workers AI) onto the native protocol:
 *  - interim `Results` → `transcript.partial` {text, start, end: start+duration};
 *    empty interim transcripts are skipped; none at all when the session asked
 *    for no interim results (Deepgram still sends them: UtteranceEnd needs them).
 *  - final `Results` (`is_final`) → `transcript.final` {text, start, end:
 *    start+duration, confidence, words (punctuated_word when present)}. An empty
 *    final is skipped, except right after a partial: then it is sent with empty
 *    text so clients drop the partial Deepgram took back.
 *  - `SpeechStarted` → `vad.speech_start` {timestamp}.
 *  - end of speech: the FIRST of `speech_final: true` (timestamp: end of the
 *    last finalized word) or `UtteranceEnd` (timestamp: `last_word_end`) →
 *    `vad.speech_end`; the other one, arriving later for the same utterance,
 *    is ignored (Deepgram's "End of Speech Detection" guide: endpointing is
 *    quicker in quiet rooms, UtteranceEnd is the fallback when noise hides
 *    the silence). VAD events are kept paired: a transcript with words while
 *    no speech is open opens one (at its first word), a repeated SpeechStarted
 *    is ignored, and a stream that ends mid-speech closes it.
 *  - `Metadata` after `CloseStream` ends the stream (finish resolves).
 *  - `Error` frame → `error` event (recoverable); if the socket then closes,
 *    onFailure("runtime").
 *  - flush() sends Deepgram's `Finalize`.
 */
import type { WorkersAiRealtimeSettings } from "../../../config";
import type { EngineEvent, Word } from "../../../protocol/messages";
import type { RealtimeSessionOptions } from "../types";
import { engineError, num, round3, type FlushAction, type MapResult, type Mapper, type RunInputs } from "./mapper";
import { readNovaMessage, type DeepgramWord, type NovaError, type NovaResults, type RawMessage } from "./messages";

const FINALIZE = JSON.stringify({ type: "Finalize" });

export class NovaMapper implements Mapper {
  readonly inputs: RunInputs;
  #interim: boolean;
  #inSpeech = false;
  #speechStartedAt = 0;
  #lastWordEnd: number | null = null;
  /** End of the last word heard, interim or final: where open speech ends if the stream stops. */
  #lastHeard = 0;
  #partialOutstanding = false;

  constructor(options: RealtimeSessionOptions, settings: WorkersAiRealtimeSettings) {
    this.#interim = options.interimResults;
    // Types as `Ai_Cf_Deepgram_Nova_3_Input` declares them (booleans, `channels`
    // a number, `endpointing` a string). Two are not in that schema or are
    // mistyped there: `sample_rate` (absent; Deepgram documents an integer) and
    // `utterance_end_ms` (declared boolean; Deepgram documents milliseconds as
    // an integer): both go as numbers, which only a deployment can confirm.
    this.inputs = {
      encoding: "linear16",
      sample_rate: 16000,
      channels: 1,
      // Always on: UtteranceEnd is computed from interim results. Partials are
      // only passed on when the session asked for them.
      interim_results: true,
      punctuate: true,
      smart_format: settings.smartFormat,
      vad_events: true,
      endpointing: String(settings.endpointingMs),
      utterance_end_ms: settings.utteranceEndMs,
    };
    const language = options.language === "auto" ? settings.autoLanguage : options.language;
    if (language) this.inputs.language = language;
  }

  flush(): FlushAction {
    return { message: FINALIZE, events: [] };
  }

  map(raw: RawMessage): MapResult {
    const message = readNovaMessage(raw);
    if (message === null) return { events: [], unrecognised: true };
    switch (message.type) {
      case "Results":
        return { events: this.#results(message) };
      case "SpeechStarted": {
        const timestamp = num(message.timestamp);
        return { events: timestamp === null ? [] : this.#speechStart(timestamp) };
      }
      case "UtteranceEnd": {
        const lastWordEnd = num(message.last_word_end);
        return { events: lastWordEnd === null ? [] : this.#speechEnd(lastWordEnd) };
      }
      case "Metadata":
        return { events: [], terminal: true };
      case "Error":
        return { events: [engineError(novaErrorText(message))] };
    }
  }

  settle(): EngineEvent[] {
    if (!this.#inSpeech) return [];
    return this.#speechEnd(this.#lastHeard);
  }

  #results(results: NovaResults): EngineEvent[] {
    const start = num(results.start);
    const duration = num(results.duration);
    const alternative = results.channel?.alternatives?.[0];
    if (start === null || duration === null || !alternative) return [];
    const end = round3(start + duration);
    const text = typeof alternative.transcript === "string" ? alternative.transcript : "";
    const words = Array.isArray(alternative.words) ? alternative.words.filter(isDeepgramWord) : [];
    const events: EngineEvent[] = [];
    const lastWord = words[words.length - 1];
    if (lastWord) this.#lastHeard = Math.max(this.#lastHeard, round3(lastWord.end));

    if (!results.is_final) {
      if (text.trim() === "") return events;
      events.push(...this.#speechStart(words[0] ? round3(words[0].start) : round3(start)));
      if (this.#interim) {
        events.push({ type: "transcript.partial", text, start: round3(start), end });
        this.#partialOutstanding = true;
      }
      return events;
    }

    if (text.trim() !== "") {
      events.push(...this.#speechStart(words[0] ? round3(words[0].start) : round3(start)));
      events.push({
        type: "transcript.final",
        text,
        start: round3(start),
        end,
        confidence: num(alternative.confidence) ?? 0,
        words: words.map(
          (w): Word => ({
            word: w.punctuated_word ?? w.word,
            start: round3(w.start),
            end: round3(w.end),
            confidence: w.confidence,
          }),
        ),
      });
      this.#lastWordEnd = lastWord ? round3(lastWord.end) : end;
    } else if (this.#partialOutstanding) {
      // Deepgram took back what the partial showed: tell clients to drop it.
      events.push({ type: "transcript.final", text: "", start: round3(start), end, confidence: 0, words: [] });
    }
    this.#partialOutstanding = false;

    if (results.speech_final) events.push(...this.#speechEnd(this.#lastWordEnd ?? end));
    return events;
  }

  #speechStart(timestamp: number): EngineEvent[] {
    if (this.#inSpeech) return [];
    this.#inSpeech = true;
    this.#speechStartedAt = timestamp;
    return [{ type: "vad.speech_start", timestamp }];
  }

  #speechEnd(timestamp: number): EngineEvent[] {
    if (!this.#inSpeech) return [];
    this.#inSpeech = false;
    this.#lastWordEnd = null;
    return [{ type: "vad.speech_end", timestamp: round3(Math.max(timestamp, this.#speechStartedAt)) }];
  }
}

function novaErrorText(error: NovaError): string {
  const what = error.description || error.message || "unknown error";
  return error.variant ? `${error.variant}: ${what}` : what;
}

function isDeepgramWord(value: unknown): value is DeepgramWord {
  if (typeof value !== "object" || value === null) return false;
  const w = value as Record<string, unknown>;
  return typeof w.word === "string" && typeof w.start === "number" && typeof w.end === "number" && typeof w.confidence === "number";
}
