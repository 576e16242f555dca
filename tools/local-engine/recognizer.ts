/**
 * Socket-free streaming recognizer: 16 kHz s16 PCM in, native-protocol engine
 * events out (vad.*, transcript.partial, transcript.final with word timings).
 *
 * Segmentation is ours, not PocketSphinx's: the emulator's energy VAD (with a
 * noise-adaptive threshold) cuts utterances, each utterance is decoded from
 * a little before its start, and the decoder keeps every frame, so word frame n
 * is exactly utteranceStart + n × 10 ms on the stream's own timeline.
 */
import type { EngineEvent, TranscriptFinalMessage } from "../../src/protocol/messages";
import { roundMs, StreamingVad, type AdaptiveThreshold, type VadEvent } from "../emulator/vad";
import { FRAMES_PER_SECOND, SPHINX_SAMPLE_RATE, type DecodedUtterance } from "./sphinx";

/** Audio kept from before the VAD's start: it fires after two voiced 20 ms frames, and word onsets are soft. */
export const PREROLL_MS = 250;
/** A partial hypothesis per this much utterance audio (ps_get_hyp is a full search back-trace: not per frame). */
export const PARTIAL_INTERVAL_MS = 300;
/** Past this length an utterance is cut at the next short pause: long utterances slow partials down. */
export const MAX_UTTERANCE_MS = 12_000;
/** The pause that allows that cut. */
export const CUT_PAUSE_MS = 100;
/** Without any pause, a hard cut here (a word may be split). */
export const HARD_MAX_UTTERANCE_MS = 20_000;

/**
 * Microphones differ by tens of dB, rooms too: speech is a frame 8 dB above the
 * room's noise floor, and never below -50 dBFS (the emulator's fixed -40 dBFS
 * missed quiet microphones and merged everything under a fan's noise).
 */
export const SPEECH_THRESHOLD: AdaptiveThreshold = { minDbfs: -50, marginDb: 8, riseDbPerSecond: 3 };

const RATE = SPHINX_SAMPLE_RATE;
const SAMPLES_PER_FRAME = RATE / FRAMES_PER_SECOND;

/** What the recognizer needs from a decoder (sphinx.ts's Decoder). */
export interface UtteranceDecoder {
  start(): void;
  process(samples: Int16Array): void;
  hypothesis(): string;
  end(): DecodedUtterance;
}

export interface RecognizerOptions {
  interimResults: boolean;
  wordTimestamps: boolean;
}

/** A finished utterance on the stream's timeline (seconds), for the batch path. */
export interface Utterance {
  start: number;
  end: number;
  text: string;
  confidence: number;
  words: Array<{ word: string; start: number; end: number; confidence: number }>;
}

export class Recognizer {
  readonly #vad = new StreamingVad(RATE, SPEECH_THRESHOLD);
  readonly #decoder: UtteranceDecoder;
  readonly #options: RecognizerOptions;
  readonly #emit: (e: EngineEvent) => void;
  /** Finished utterances, also when no final was sent (batch reads them). */
  readonly utterances: Utterance[] = [];

  /** Recent audio while outside an utterance (the preroll). */
  #ring = new Int16Array(Math.round((RATE * PREROLL_MS) / 1000) + RATE / 50);
  #ringLength = 0;
  #pendingByte: number | null = null;

  #inUtterance = false;
  /** Stream sample where the decoder's frame 0 of the open utterance lies. */
  #uttOrigin = 0;
  #regionStart = 0;
  #lastVoicedEnd = 0;
  #samplesSincePartial = 0;
  #lastPartial = "";
  #ended = false;

  constructor(decoder: UtteranceDecoder, options: RecognizerOptions, emit: (e: EngineEvent) => void) {
    this.#decoder = decoder;
    this.#options = options;
    this.#emit = emit;
  }

  /** Seconds of audio received. */
  get position(): number {
    return this.#vad.samplesSeen / RATE;
  }

  /** Little-endian s16 bytes, any length (an odd byte waits for the next call). */
  pushBytes(bytes: Uint8Array): void {
    if (this.#ended || bytes.length === 0) return;
    let data = bytes;
    if (this.#pendingByte !== null) {
      data = new Uint8Array(bytes.length + 1);
      data[0] = this.#pendingByte;
      data.set(bytes, 1);
      this.#pendingByte = null;
    }
    const whole = data.length & ~1;
    if (whole < data.length) this.#pendingByte = data[whole]!;
    const samples = new Int16Array(whole >> 1);
    const view = new DataView(data.buffer, data.byteOffset, whole);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true);
    this.pushSamples(samples);
  }

  pushSamples(samples: Int16Array): void {
    if (this.#ended) return;
    const frame = this.#vad.frameSamples;
    let at = 0;
    while (at < samples.length) {
      // Pieces end on VAD frame boundaries, so every event is known to the frame.
      const room = frame - (this.#vad.samplesSeen % frame);
      const piece = samples.subarray(at, at + room);
      at += piece.length;
      this.#pushPiece(piece);
    }
  }

  /** Finalize what is open now (client `flush`). */
  flush(): void {
    if (this.#ended) return;
    this.#vad.finalize(this.#onVad);
  }

  /** Finalize, then announce the end. */
  end(): void {
    if (this.#ended) return;
    this.flush();
    this.#ended = true;
    this.#emit({ type: "session.end" });
  }

  #pushPiece(piece: Int16Array): void {
    const events: VadEvent[] = [];
    this.#vad.push(piece, (e) => events.push(e));
    if (!this.#inUtterance) this.#remember(piece);
    else this.#feed(piece);
    for (const e of events) this.#onVad(e);
    if (this.#inUtterance) this.#maybeCut();
  }

  readonly #onVad = (e: VadEvent): void => {
    if (e.type === "start") this.#open(e.start);
    else if (e.type === "voiced") {
      this.#lastVoicedEnd = e.voicedEnd;
      this.#maybePartial();
    } else this.#close(e.end);
  };

  #open(regionStart: number): void {
    const now = this.#vad.samplesSeen;
    const preroll = Math.min(this.#ringLength, now - regionStart + Math.round((RATE * PREROLL_MS) / 1000));
    this.#decoder.start();
    this.#inUtterance = true;
    this.#uttOrigin = now - preroll;
    this.#regionStart = regionStart;
    this.#lastVoicedEnd = regionStart;
    this.#samplesSincePartial = 0;
    this.#lastPartial = "";
    this.#feed(this.#ring.subarray(this.#ringLength - preroll, this.#ringLength));
    this.#ringLength = 0;
    this.#emit({ type: "vad.speech_start", timestamp: roundMs(regionStart / RATE) });
  }

  #feed(samples: Int16Array): void {
    this.#decoder.process(samples);
    this.#samplesSincePartial += samples.length;
  }

  #remember(piece: Int16Array): void {
    const ring = this.#ring;
    if (this.#ringLength + piece.length > ring.length) {
      const keep = Math.max(0, ring.length - piece.length);
      ring.copyWithin(0, this.#ringLength - keep, this.#ringLength);
      this.#ringLength = keep;
    }
    ring.set(piece.subarray(Math.max(0, piece.length - ring.length)), this.#ringLength);
    this.#ringLength = Math.min(ring.length, this.#ringLength + piece.length);
  }

  #maybePartial(): void {
    if (!this.#options.interimResults || this.#samplesSincePartial < (RATE * PARTIAL_INTERVAL_MS) / 1000) return;
    this.#samplesSincePartial = 0;
    const text = this.#decoder.hypothesis();
    if (text === "" || text === this.#lastPartial) return;
    this.#lastPartial = text;
    this.#emit({
      type: "transcript.partial",
      text,
      start: roundMs(this.#regionStart / RATE),
      end: roundMs(this.#vad.samplesSeen / RATE),
    });
  }

  #maybeCut(): void {
    const now = this.#vad.samplesSeen;
    const length = ((now - this.#regionStart) * 1000) / RATE;
    const pause = ((now - this.#lastVoicedEnd) * 1000) / RATE;
    if ((length > MAX_UTTERANCE_MS && pause >= CUT_PAUSE_MS) || length > HARD_MAX_UTTERANCE_MS) this.flush();
  }

  #close(regionEnd: number): void {
    if (!this.#inUtterance) return;
    this.#inUtterance = false;
    const decoded = this.#decoder.end();
    const at = (frame: number): number => roundMs((this.#uttOrigin + frame * SAMPLES_PER_FRAME) / RATE);
    const words = decoded.words.map((w) => ({
      word: w.word,
      start: at(w.startFrame),
      end: at(w.endFrame),
      confidence: roundMs(w.confidence),
    }));
    const start = words.length > 0 ? words[0]!.start : roundMs(this.#regionStart / RATE);
    const end = words.length > 0 ? words[words.length - 1]!.end : roundMs(regionEnd / RATE);
    const confidence = roundMs(decoded.confidence);
    this.utterances.push({ start, end, text: decoded.text, confidence, words });
    if (decoded.text !== "") {
      const final: TranscriptFinalMessage = { type: "transcript.final", text: decoded.text, start, end, confidence };
      if (this.#options.wordTimestamps) final.words = words;
      this.#emit(final);
    }
    this.#emit({ type: "vad.speech_end", timestamp: roundMs(regionEnd / RATE) });
  }
}
