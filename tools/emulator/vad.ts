/**
 * Energy-based voice activity detection, shared by the realtime socket and the
 * batch API so that both cut exactly the same regions out of the same audio.
 *
 * Streaming and O(1) in memory: a frame only needs its running sum of squares,
 * so no audio is kept, whatever the session length.
 */

/** Analysis frame length. */
export const VAD_FRAME_MS = 20;
/** A frame is voiced when its RMS level is strictly above this (dBFS, full scale = 32768). */
export const VAD_VOICED_DBFS = -40;
/** Consecutive voiced frames needed to open a region (filters clicks). */
export const VAD_START_FRAMES = 2;
/** Continuous unvoiced audio that closes a region. */
export const VAD_HANGOVER_MS = 300;

/**
 * Optional noise-adaptive threshold (the local speech engine uses it; the
 * emulator keeps the fixed one, so its regions stay exactly as documented).
 * A frame is voiced above max(minDbfs, noise floor + marginDb). The floor
 * starts at the first frame's level (a stream starts with the room, rarely
 * with a word), follows quieter frames quickly (half-way per frame) and rises
 * slowly (riseDbPerSecond) through louder ones, so pauses between words keep
 * it at the room's level and a noise that grows is learnt within seconds.
 */
export interface AdaptiveThreshold {
  minDbfs: number;
  marginDb: number;
  riseDbPerSecond: number;
}

/** Digital silence has no level; the floor never goes below this. */
const FLOOR_MIN_DBFS = -100;

/** Positions are sample indices on the connection's (or file's) own timeline. */
export type VadEvent =
  /** A region opened; `start` is the first sample of its first voiced frame. */
  | { type: "start"; start: number }
  /** A voiced frame was added to the open region; `voicedEnd` is that frame's end. */
  | { type: "voiced"; start: number; voicedEnd: number }
  /** The region closed: after the hangover at the last voiced frame's end, or at `finalize()`. */
  | { type: "end"; start: number; end: number };

export function rmsDbfs(sumSquares: number, count: number): number {
  if (count === 0 || sumSquares <= 0) return -Infinity;
  return 20 * Math.log10(Math.sqrt(sumSquares / count) / 32768);
}

export class StreamingVad {
  readonly sampleRate: number;
  readonly frameSamples: number;
  private readonly hangoverFrames: number;

  private position = 0; // samples pushed so far
  private frameStart = 0;
  private frameFill = 0;
  private frameSumSq = 0;

  private readonly adaptive: AdaptiveThreshold | null;
  private noiseFloor = NaN;

  private speaking = false;
  private voicedRun = 0;
  private candidateStart = 0;
  private regionStart = 0;
  private lastVoicedEnd = 0;
  private unvoicedRun = 0;

  constructor(sampleRate = 16000, adaptive: AdaptiveThreshold | null = null) {
    this.sampleRate = sampleRate;
    this.adaptive = adaptive;
    // Other rates (batch uploads) keep 20 ms frames, so the thresholds mean the same thing.
    this.frameSamples = Math.max(1, Math.round((sampleRate * VAD_FRAME_MS) / 1000));
    this.hangoverFrames = Math.ceil(VAD_HANGOVER_MS / VAD_FRAME_MS);
  }

  /** Samples received so far. */
  get samplesSeen(): number {
    return this.position;
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  push(samples: ArrayLike<number>, emit: (e: VadEvent) => void): void {
    const n = samples.length;
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      this.frameSumSq += s * s;
      this.frameFill++;
      this.position++;
      if (this.frameFill === this.frameSamples) this.closeFrame(emit);
    }
  }

  /**
   * Close any open region at the current position (flush / end of stream) and
   * start over: the partly filled frame is dropped from analysis so the next
   * region cannot begin before this point.
   */
  finalize(emit: (e: VadEvent) => void): void {
    if (this.speaking) emit({ type: "end", start: this.regionStart, end: this.position });
    this.speaking = false;
    this.voicedRun = 0;
    this.unvoicedRun = 0;
    this.frameFill = 0;
    this.frameSumSq = 0;
    this.frameStart = this.position;
  }

  private isVoiced(level: number): boolean {
    const a = this.adaptive;
    if (!a) return level > VAD_VOICED_DBFS;
    const l = Math.max(FLOOR_MIN_DBFS, level);
    if (Number.isNaN(this.noiseFloor)) this.noiseFloor = l;
    const voiced = l > Math.max(a.minDbfs, this.noiseFloor + a.marginDb);
    this.noiseFloor = l < this.noiseFloor ? (this.noiseFloor + l) / 2 : this.noiseFloor + (a.riseDbPerSecond * VAD_FRAME_MS) / 1000;
    return voiced;
  }

  private closeFrame(emit: (e: VadEvent) => void): void {
    const start = this.frameStart;
    const end = start + this.frameFill;
    const voiced = this.isVoiced(rmsDbfs(this.frameSumSq, this.frameFill));
    this.frameStart = end;
    this.frameFill = 0;
    this.frameSumSq = 0;

    if (!this.speaking) {
      if (!voiced) {
        this.voicedRun = 0;
        return;
      }
      if (this.voicedRun === 0) this.candidateStart = start;
      this.voicedRun++;
      if (this.voicedRun >= VAD_START_FRAMES) {
        this.speaking = true;
        this.regionStart = this.candidateStart;
        this.lastVoicedEnd = end;
        this.unvoicedRun = 0;
        emit({ type: "start", start: this.regionStart });
        emit({ type: "voiced", start: this.regionStart, voicedEnd: end });
      }
      return;
    }

    if (voiced) {
      this.lastVoicedEnd = end;
      this.unvoicedRun = 0;
      emit({ type: "voiced", start: this.regionStart, voicedEnd: end });
      return;
    }
    this.unvoicedRun++;
    if (this.unvoicedRun >= this.hangoverFrames) {
      this.speaking = false;
      this.voicedRun = 0;
      this.unvoicedRun = 0;
      emit({ type: "end", start: this.regionStart, end: this.lastVoicedEnd });
    }
  }
}

/** Regions of a whole buffer, closed at the end of the buffer like a realtime `end`. */
export function detectRegions(
  samples: ArrayLike<number>,
  sampleRate: number,
): Array<{ start: number; end: number }> {
  const vad = new StreamingVad(sampleRate);
  const regions: Array<{ start: number; end: number }> = [];
  const onEvent = (e: VadEvent): void => {
    if (e.type === "end") regions.push({ start: e.start, end: e.end });
  };
  vad.push(samples, onEvent);
  vad.finalize(onEvent);
  return regions;
}

/** Seconds with millisecond precision, as every emulator timestamp is reported. */
export function roundMs(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

export function toSeconds(samples: number, sampleRate: number): number {
  return roundMs(samples / sampleRate);
}
