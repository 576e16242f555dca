/**
 * The audio the service accepts: one place for the rate and channel limits
 * that the stream's `sample_rate`, the upload check, the converter and the
 * resampler all enforce (README "Limits").
 */

import { STREAM_SAMPLE_RATE } from "./format";

/** The rate every converter outputs: the canonical stream's (./format), what the recorder stores and engines hear. */
export const OUTPUT_SAMPLE_RATE = STREAM_SAMPLE_RATE;

/** Lowest input rate, streams and uploads alike (narrowband telephony). */
export const MIN_INPUT_SAMPLE_RATE = 8000;

/**
 * Highest rate of a live stream (`sample_rate`): real-time clients capture at
 * 48 kHz at most, and anything higher would only cost bandwidth.
 */
export const MAX_STREAM_SAMPLE_RATE = 48000;

/**
 * Highest rate of an uploaded WAV. 96 kHz (and 88.2 kHz) is common in files from
 * field recorders, so uploads accept it; the resampler's filter grows with the
 * rate ratio, and this is what bounds it (see MAX_RATE_RATIO in ./resampler).
 */
export const MAX_UPLOAD_SAMPLE_RATE = 96000;

/** Uploads are mono or stereo; stereo is mixed down to mono. */
export const MAX_UPLOAD_CHANNELS = 2;
