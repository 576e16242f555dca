/**
 * Speaker labels from the audio itself: per-utterance voice features (median
 * pitch, mean MFCCs) clustered agglomeratively.
 *
 * What this can do: tell apart voices that differ in pitch and timbre (a male
 * and a female voice, two clearly different people), one label per utterance.
 * What it cannot do: split an utterance in which the speaker changes without a
 * pause, tell apart similar voices reliably, or recognise a speaker across
 * recordings. It is feature clustering, not a speaker-embedding model.
 */
import { regionPitch } from "../emulator/pitch";
import { rmsDbfs, VAD_VOICED_DBFS } from "../emulator/vad";

const FFT_SIZE = 512;
const FRAME_MS = 25;
const HOP_MS = 10;
const MEL_BANDS = 26;
const MEL_LOW_HZ = 100;
const MEL_HIGH_HZ = 7600;
/** c1…c12: c0 is loudness, which says more about the microphone than the voice. */
const CEPSTRA = 12;
/** At most this many frames per utterance (evenly spaced), so an hour of audio stays fast. */
const MAX_FRAMES = 300;

/**
 * Distance scales: a pitch difference of this many semitones, or an MFCC mean
 * difference of this Euclidean size, counts as distance 1. Calibrated on flite
 * voices and the recognizer's own utterances (README, "Speakers").
 */
export const PITCH_SCALE_SEMITONES = 4;
export const MFCC_SCALE = 9;
/** Without num_speakers, clusters closer than this (average linkage) are one speaker. */
export const SAME_SPEAKER_DISTANCE = 1.5;

export interface VoiceFeatures {
  /** Median pitch in Hz, null when no frame had a clear one. */
  pitch: number | null;
  /** Mean of c1…c12 over voiced frames, null when none was voiced. */
  mfcc: number[] | null;
}

/**
 * The utterance is first brought to NORMALIZED_DBFS on average, so the fixed
 * voicing threshold of the pitch and MFCC code (-40 dBFS) means "20 dB below
 * this utterance's level" whatever the microphone gain. Level only moves c0,
 * which is not used, so timbre is unaffected.
 */
export const NORMALIZED_DBFS = -20;

export function voiceFeatures(samples: Int16Array, start: number, end: number, sampleRate: number): VoiceFeatures {
  const segment = normalize(samples.subarray(Math.max(0, start), Math.min(samples.length, end)));
  return { pitch: regionPitch(segment, 0, segment.length, sampleRate), mfcc: meanMfcc(segment, 0, segment.length, sampleRate) };
}

function normalize(segment: Int16Array): Int16Array {
  let sumSq = 0;
  for (const v of segment) sumSq += v * v;
  const level = rmsDbfs(sumSq, segment.length);
  if (!Number.isFinite(level)) return segment;
  const gain = 10 ** ((NORMALIZED_DBFS - level) / 20);
  return Int16Array.from(segment, (v) => Math.max(-32768, Math.min(32767, Math.round(v * gain))));
}

/** Distance between two feature sets (see the scales above); terms missing on either side are left out. */
export function voiceDistance(a: VoiceFeatures, b: VoiceFeatures): number {
  let sum = 0;
  let terms = 0;
  if (a.pitch !== null && b.pitch !== null) {
    sum += (12 * Math.log2(a.pitch / b.pitch) / PITCH_SCALE_SEMITONES) ** 2;
    terms++;
  }
  if (a.mfcc !== null && b.mfcc !== null) {
    let d = 0;
    for (let i = 0; i < a.mfcc.length; i++) d += (a.mfcc[i]! - b.mfcc[i]!) ** 2;
    sum += d / MFCC_SCALE ** 2;
    terms++;
  }
  return terms === 0 ? 0 : Math.sqrt(sum / terms);
}

/**
 * Speaker id per utterance (`speaker_0`… in order of first appearance).
 * Average-linkage agglomerative clustering: with `numSpeakers`, merge until that
 * many clusters remain (fewer when there are fewer utterances); without it,
 * merge while the two closest clusters are under SAME_SPEAKER_DISTANCE.
 */
export function clusterSpeakers(features: readonly VoiceFeatures[], numSpeakers?: number): string[] {
  const n = features.length;
  if (n === 0) return [];
  const dist = features.map((a) => features.map((b) => voiceDistance(a, b)));
  let clusters = features.map((_, i) => [i]);
  const linkage = (x: number[], y: number[]): number => {
    let s = 0;
    for (const i of x) for (const j of y) s += dist[i]![j]!;
    return s / (x.length * y.length);
  };
  const target = numSpeakers !== undefined ? Math.max(1, numSpeakers) : 1;
  while (clusters.length > target) {
    let best = { d: Infinity, a: 0, b: 1 };
    for (let a = 0; a < clusters.length; a++) {
      for (let b = a + 1; b < clusters.length; b++) {
        const d = linkage(clusters[a]!, clusters[b]!);
        if (d < best.d) best = { d, a, b };
      }
    }
    if (numSpeakers === undefined && best.d >= SAME_SPEAKER_DISTANCE) break;
    clusters[best.a] = [...clusters[best.a]!, ...clusters[best.b]!];
    clusters = clusters.filter((_, k) => k !== best.b);
  }
  const label = new Array<string>(n);
  clusters.sort((x, y) => Math.min(...x) - Math.min(...y));
  clusters.forEach((members, k) => {
    for (const i of members) label[i] = `speaker_${k}`;
  });
  return label;
}

/* --------------------------------- MFCC --------------------------------- */

const filterCache = new Map<number, Float64Array[]>();

function melFilters(sampleRate: number): Float64Array[] {
  const cached = filterCache.get(sampleRate);
  if (cached) return cached;
  const mel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
  const hz = (m: number): number => 700 * (10 ** (m / 2595) - 1);
  const high = Math.min(MEL_HIGH_HZ, sampleRate / 2);
  const points = Array.from({ length: MEL_BANDS + 2 }, (_, i) => mel(MEL_LOW_HZ) + ((mel(high) - mel(MEL_LOW_HZ)) * i) / (MEL_BANDS + 1));
  const bin = points.map((m) => (hz(m) * FFT_SIZE) / sampleRate);
  const filters: Float64Array[] = [];
  for (let b = 0; b < MEL_BANDS; b++) {
    const f = new Float64Array(FFT_SIZE / 2 + 1);
    for (let k = 0; k < f.length; k++) {
      if (k > bin[b]! && k < bin[b + 1]!) f[k] = (k - bin[b]!) / (bin[b + 1]! - bin[b]!);
      else if (k >= bin[b + 1]! && k < bin[b + 2]!) f[k] = (bin[b + 2]! - k) / (bin[b + 2]! - bin[b + 1]!);
    }
    filters.push(f);
  }
  filterCache.set(sampleRate, filters);
  return filters;
}

/** In-place radix-2 FFT. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

function meanMfcc(samples: Int16Array, start: number, end: number, sampleRate: number): number[] | null {
  const frameLen = Math.min(FFT_SIZE, Math.round((sampleRate * FRAME_MS) / 1000));
  const hop = Math.round((sampleRate * HOP_MS) / 1000);
  const last = Math.min(end, samples.length) - frameLen;
  if (last < start) return null;
  const frames = Math.floor((last - start) / hop) + 1;
  const step = Math.max(1, frames / MAX_FRAMES);
  const filters = melFilters(sampleRate);
  const sum = new Float64Array(CEPSTRA);
  let used = 0;
  const re = new Float64Array(FFT_SIZE);
  const im = new Float64Array(FFT_SIZE);
  const logMel = new Float64Array(MEL_BANDS);
  for (let f = 0; f < frames; f += step) {
    const from = start + Math.floor(f) * hop;
    let sumSq = 0;
    for (let i = 0; i < frameLen; i++) sumSq += samples[from + i]! ** 2;
    if (rmsDbfs(sumSq, frameLen) <= VAD_VOICED_DBFS) continue;
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < frameLen; i++) {
      // Pre-emphasis and a Hamming window, as every MFCC front end does.
      const x = samples[from + i]! - 0.97 * (i > 0 ? samples[from + i - 1]! : 0);
      re[i] = (x / 32768) * (0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (frameLen - 1)));
    }
    fft(re, im);
    for (let b = 0; b < MEL_BANDS; b++) {
      const w = filters[b]!;
      let e = 0;
      for (let k = 0; k < w.length; k++) if (w[k]! > 0) e += w[k]! * (re[k]! ** 2 + im[k]! ** 2);
      logMel[b] = Math.log(e + 1e-10);
    }
    for (let c = 1; c <= CEPSTRA; c++) {
      let v = 0;
      for (let b = 0; b < MEL_BANDS; b++) v += logMel[b]! * Math.cos((Math.PI * c * (b + 0.5)) / MEL_BANDS);
      sum[c - 1]! += v;
    }
    used++;
  }
  return used === 0 ? null : Array.from(sum, (v) => v / used);
}
