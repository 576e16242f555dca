/**
 * Pitch-based speaker assignment for the batch API. Good enough to separate
 * synthetic voices an octave apart; it is not diarization.
 */
import { rmsDbfs, VAD_VOICED_DBFS } from "./vad";

export const PITCH_FRAME_MS = 40;
export const PITCH_MIN_HZ = 60;
export const PITCH_MAX_HZ = 400;
/** Normalised autocorrelation peak below this: the frame has no clear pitch. */
export const PITCH_MIN_CORRELATION = 0.5;
/** Picking the first peak within this fraction of the best avoids octave-down errors. */
const PITCH_PEAK_RATIO = 0.9;
/** At most this many frames per region are analysed, evenly spaced, so an hour-long file stays fast. */
export const PITCH_MAX_FRAMES_PER_REGION = 12;
/** A region joins a speaker whose mean pitch is within this relative distance. */
export const SPEAKER_PITCH_TOLERANCE = 0.15;

/** Pitch of one frame in Hz, or null when it is quiet or has no clear period. */
export function framePitch(
  samples: ArrayLike<number>,
  from: number,
  length: number,
  sampleRate: number,
): number | null {
  let mean = 0;
  let sumSq = 0;
  for (let i = 0; i < length; i++) {
    const v = samples[from + i]!;
    mean += v;
    sumSq += v * v;
  }
  if (rmsDbfs(sumSq, length) <= VAD_VOICED_DBFS) return null;
  mean /= length;
  const x = new Float64Array(length);
  for (let i = 0; i < length; i++) x[i] = samples[from + i]! - mean;

  const minLag = Math.max(2, Math.floor(sampleRate / PITCH_MAX_HZ));
  const maxLag = Math.min(length - 2, Math.ceil(sampleRate / PITCH_MIN_HZ));
  if (maxLag <= minLag + 2) return null;
  const r = new Float64Array(maxLag + 2);
  let best = -Infinity;
  for (let lag = minLag - 1; lag <= maxLag + 1; lag++) {
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (let i = 0; i + lag < length; i++) {
      const a = x[i]!;
      const b = x[i + lag]!;
      xy += a * b;
      xx += a * a;
      yy += b * b;
    }
    const v = xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
    r[lag] = v;
    if (lag >= minLag && lag <= maxLag && v > best) best = v;
  }
  if (best < PITCH_MIN_CORRELATION) return null;
  for (let lag = minLag; lag <= maxLag; lag++) {
    const v = r[lag]!;
    if (v >= PITCH_PEAK_RATIO * best && v >= r[lag - 1]! && v >= r[lag + 1]!) {
      // Parabolic interpolation: integer lags alone are ~1% off at 220 Hz.
      const a = r[lag - 1]!;
      const c = r[lag + 1]!;
      const denom = a - 2 * v + c;
      const shift = denom !== 0 ? (0.5 * (a - c)) / denom : 0;
      return sampleRate / (lag + Math.max(-0.5, Math.min(0.5, shift)));
    }
  }
  return null;
}

/** Median pitch over the voiced 40 ms frames of [startSample, endSample), or null. */
export function regionPitch(
  samples: ArrayLike<number>,
  startSample: number,
  endSample: number,
  sampleRate: number,
): number | null {
  const frame = Math.round((sampleRate * PITCH_FRAME_MS) / 1000);
  const end = Math.min(endSample, samples.length);
  const frames = Math.floor((end - startSample) / frame);
  if (frames <= 0) return null;
  const step = Math.max(1, frames / PITCH_MAX_FRAMES_PER_REGION);
  const pitches: number[] = [];
  for (let f = 0; f < frames; f += step) {
    const p = framePitch(samples, startSample + Math.floor(f) * frame, frame, sampleRate);
    if (p !== null) pitches.push(p);
  }
  if (pitches.length === 0) return null;
  pitches.sort((a, b) => a - b);
  const mid = pitches.length >> 1;
  return pitches.length % 2 === 1 ? pitches[mid]! : (pitches[mid - 1]! + pitches[mid]!) / 2;
}

/**
 * Speaker id per region, in order. The first region founds speaker_0; a later
 * region joins the nearest speaker whose mean pitch is within 15 %, otherwise it
 * founds a new one, unless `numSpeakers` are already in use (then: nearest).
 * A region without a pitch estimate stays with the previous region's speaker.
 */
export function assignSpeakers(pitches: ReadonlyArray<number | null>, numSpeakers?: number): string[] {
  interface Speaker {
    id: string;
    sum: number;
    count: number;
  }
  const speakers: Speaker[] = [];
  const out: string[] = [];
  const found = (): Speaker => {
    const s: Speaker = { id: `speaker_${speakers.length}`, sum: 0, count: 0 };
    speakers.push(s);
    return s;
  };
  let previous: Speaker | null = null;

  for (const p of pitches) {
    let chosen: Speaker;
    if (p === null) {
      chosen = previous ?? speakers[0] ?? found();
    } else {
      let nearest: Speaker | null = null;
      let nearestDist = Infinity;
      for (const s of speakers) {
        if (s.count === 0) continue;
        const mean = s.sum / s.count;
        const dist = Math.abs(p - mean) / mean;
        if (dist < nearestDist) {
          nearest = s;
          nearestDist = dist;
        }
      }
      const unpitched = speakers.find((s) => s.count === 0);
      if (nearest && nearestDist <= SPEAKER_PITCH_TOLERANCE) chosen = nearest;
      else if (unpitched) chosen = unpitched; // founded by a pitchless region: claim it
      else if (numSpeakers !== undefined && speakers.length >= numSpeakers && nearest) chosen = nearest;
      else chosen = found();
      chosen.sum += p;
      chosen.count++;
    }
    out.push(chosen.id);
    previous = chosen;
  }
  return out;
}
