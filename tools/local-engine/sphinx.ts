/**
 * CMU PocketSphinx 0.8 (Debian `libpocketsphinx3` + `pocketsphinx-en-us`)
 * called in-process through koffi. Every call is synchronous and CPU-bound, so
 * a Decoder belongs to one worker thread (see worker.ts), never to the event
 * loop that serves sockets.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

export const MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";
export const SPHINX_LIBS = { base: "libsphinxbase.so.3", decoder: "libpocketsphinx.so.3" } as const;
/** Debian packages that provide everything above. */
export const SPHINX_PACKAGES = ["libpocketsphinx3", "pocketsphinx-en-us"] as const;
/** The decoder's default -frate: word boundaries come back in 10 ms frames. */
export const FRAMES_PER_SECOND = 100;
export const SPHINX_SAMPLE_RATE = 16000;

const MODEL_FILES = ["en-us/mdef", "en-us.lm.bin", "cmudict-en-us.dict"];
const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"];

export class SphinxError extends Error {
  override name = "SphinxError";
}

/** What is missing for the recognizer to run ([] = ready). Cheap: file checks only. */
export function missingSphinxParts(): string[] {
  const missing: string[] = [];
  for (const lib of Object.values(SPHINX_LIBS)) {
    if (!LIB_DIRS.some((d) => existsSync(`${d}/${lib}`))) missing.push(lib);
  }
  for (const f of MODEL_FILES) if (!existsSync(`${MODEL_DIR}/${f}`)) missing.push(`${MODEL_DIR}/${f}`);
  return missing;
}

interface Bindings {
  cmdLnInit: (...args: unknown[]) => unknown;
  cmdLnFree: (cfg: unknown) => number;
  psArgs: () => unknown;
  psInit: (cfg: unknown) => unknown;
  psFree: (ps: unknown) => number;
  startUtt: (ps: unknown) => number;
  endUtt: (ps: unknown) => number;
  processRaw: (ps: unknown, data: Int16Array, n: number, noSearch: number, fullUtt: number) => number;
  getHyp: (ps: unknown, score: number[]) => string | null;
  getProb: (ps: unknown) => number;
  getLogmath: (ps: unknown) => unknown;
  logmathExp: (lmath: unknown, logb: number) => number;
  segIter: (ps: unknown) => unknown;
  segNext: (seg: unknown) => unknown;
  segWord: (seg: unknown) => string;
  segFrames: (seg: unknown, sf: number[], ef: number[]) => void;
  segProb: (seg: unknown, a: number[], l: number[], lb: number[]) => number;
}

let bindings: Bindings | null = null;

function bind(): Bindings {
  if (bindings) return bindings;
  const missing = missingSphinxParts();
  if (missing.length > 0) throw new SphinxError(`PocketSphinx is not installed (missing ${missing.join(", ")})`);
  // Loaded here, not at import: the stack and the CLI import this file to check what is installed,
  // and must keep working where koffi's native module cannot load (they fall back to the emulator).
  const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
  const sb = koffi.load(SPHINX_LIBS.base);
  const ps = koffi.load(SPHINX_LIBS.decoder);
  // The library logs every utterance to stderr by default; silence it once per thread.
  sb.func("void err_set_logfp(void *fp)")(null);
  bindings = {
    cmdLnInit: sb.func("void *cmd_ln_init(void *inout, void *defn, int strict, ...)"),
    cmdLnFree: sb.func("int cmd_ln_free_r(void *cfg)"),
    logmathExp: sb.func("double logmath_exp(void *lmath, int logb_p)"),
    psArgs: ps.func("void *ps_args()"),
    psInit: ps.func("void *ps_init(void *config)"),
    psFree: ps.func("int ps_free(void *ps)"),
    startUtt: ps.func("int ps_start_utt(void *ps)"),
    endUtt: ps.func("int ps_end_utt(void *ps)"),
    processRaw: ps.func("int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)"),
    getHyp: ps.func("const char *ps_get_hyp(void *ps, _Out_ int *score)"),
    getProb: ps.func("int ps_get_prob(void *ps)"),
    getLogmath: ps.func("void *ps_get_logmath(void *ps)"),
    segIter: ps.func("void *ps_seg_iter(void *ps)"),
    segNext: ps.func("void *ps_seg_next(void *seg)"),
    segWord: ps.func("const char *ps_seg_word(void *seg)"),
    segFrames: ps.func("void ps_seg_frames(void *seg, _Out_ int *sf, _Out_ int *ef)"),
    segProb: ps.func("int ps_seg_prob(void *seg, _Out_ int *ascr, _Out_ int *lscr, _Out_ int *lback)"),
  } as unknown as Bindings;
  return bindings;
}

/** A recognised word; frames count from the start of its utterance. */
export interface DecodedWord {
  word: string;
  startFrame: number;
  endFrame: number;
  /** Posterior probability from the lattice, 0–1. */
  confidence: number;
}

export interface DecodedUtterance {
  text: string;
  words: DecodedWord[];
  /** Mean word posterior (0 when there are no words). */
  confidence: number;
}

/** `<s>`, `</s>`, `<sil>`, `[NOISE]`, `++BREATH++`…: decoder bookkeeping, not words. */
const FILLER = /^(?:<.*>|\[.*\]|\+\+.*\+\+)$/;

/** One PocketSphinx decoder (~100 MB, 0.6–0.9 s to load). Not thread-safe: one per worker. */
export class Decoder {
  readonly #b: Bindings;
  readonly #ps: unknown;
  readonly #config: unknown;
  readonly #logmath: unknown;
  #inUtterance = false;

  constructor() {
    this.#b = bind();
    const arg = (k: string, v: string): unknown[] => ["str", k, "str", v];
    this.#config = this.#b.cmdLnInit(
      null,
      this.#b.psArgs(),
      1,
      ...arg("-hmm", `${MODEL_DIR}/en-us`),
      ...arg("-lm", `${MODEL_DIR}/en-us.lm.bin`),
      ...arg("-dict", `${MODEL_DIR}/cmudict-en-us.dict`),
      // Keep every frame: our own segmenter decides what is speech, and frame n must mean n × 10 ms.
      ...arg("-remove_silence", "no"),
      ...arg("-logfn", "/dev/null"),
      "void *",
      null,
    );
    if (!this.#config) throw new SphinxError("cmd_ln_init failed (model files unreadable?)");
    this.#ps = this.#b.psInit(this.#config);
    if (!this.#ps) throw new SphinxError("ps_init failed");
    this.#logmath = this.#b.getLogmath(this.#ps);
  }

  get inUtterance(): boolean {
    return this.#inUtterance;
  }

  start(): void {
    if (this.#inUtterance) return;
    if (this.#b.startUtt(this.#ps) < 0) throw new SphinxError("ps_start_utt failed");
    this.#inUtterance = true;
  }

  /** 16 kHz mono samples into the open utterance. */
  process(samples: Int16Array): void {
    if (!this.#inUtterance || samples.length === 0) return;
    if (this.#b.processRaw(this.#ps, samples, samples.length, 0, 0) < 0) throw new SphinxError("ps_process_raw failed");
  }

  /** Best hypothesis so far (partial), "" when none. */
  hypothesis(): string {
    const text = this.#b.getHyp(this.#ps, [0]);
    return text ? cleanWords(text.split(" ")).join(" ") : "";
  }

  /** Closes the utterance and returns its words with frame timings relative to its start. */
  end(): DecodedUtterance {
    if (!this.#inUtterance) return { text: "", words: [], confidence: 0 };
    this.#inUtterance = false;
    if (this.#b.endUtt(this.#ps) < 0) throw new SphinxError("ps_end_utt failed");
    const raw: DecodedWord[] = [];
    let first = -1;
    for (let seg = this.#b.segIter(this.#ps); seg; seg = this.#b.segNext(seg)) {
      const sf = [0];
      const ef = [0];
      this.#b.segFrames(seg, sf, ef);
      if (first < 0) first = sf[0]!;
      const logp = this.#b.segProb(seg, [0], [0], [0]);
      raw.push({ word: this.#b.segWord(seg), startFrame: sf[0]!, endFrame: ef[0]! + 1, confidence: this.#b.logmathExp(this.#logmath, logp) });
    }
    // Segment frame numbers do not restart with each utterance; its first segment (<s>) starts at its first frame.
    const base = Math.max(0, first);
    const words = raw
      .filter((w) => !FILLER.test(w.word))
      .map((w) => ({
        word: stripVariant(w.word),
        startFrame: w.startFrame - base,
        endFrame: w.endFrame - base,
        confidence: Math.min(1, Math.max(0, w.confidence)),
      }));
    const confidence = words.length > 0 ? words.reduce((s, w) => s + w.confidence, 0) / words.length : 0;
    return { text: words.map((w) => w.word).join(" "), words, confidence };
  }

  free(): void {
    if (this.#inUtterance) this.#b.endUtt(this.#ps);
    this.#inUtterance = false;
    this.#b.psFree(this.#ps);
    this.#b.cmdLnFree(this.#config);
  }
}

/** "to(2)" → "to": the dictionary marks alternative pronunciations that way. */
function stripVariant(word: string): string {
  return word.replace(/\(\d+\)$/, "");
}

function cleanWords(words: string[]): string[] {
  return words.filter((w) => w && !FILLER.test(w)).map(stripVariant);
}
