/**
 * How far into the client's own stream (bytes in its encoding and rate) the
 * session is, and how far of that is durable: handled audio counts once it is
 * in the object's SQLite (the recorder's spool), written in the same
 * transaction as the audio itself. The client hears the durable figure as
 * `audio.ack` (a few per second at most) and, after a reconnect, as
 * `session.resumed.bytes_received`: the byte it continues from.
 *
 * A frame counts as handled whether it was recorded or refused (rate limit,
 * invalid): a client resuming from the count never sends it twice.
 */
import type { DropTotals } from "./audio-limit";
import type { SessionState } from "./state";

/** Acks are at least this far apart. */
export const ACK_INTERVAL_MS = 250;

export class StreamProgress {
  readonly #state: SessionState;
  readonly #dropped: () => DropTotals;
  readonly #sendAck: (bytes: number) => void;
  /** Client bytes handled so far (memory; ahead of the durable figure until the next spool). */
  #handled: number;
  #durable: number;
  #acked = -1;
  #lastAckAt = -Infinity;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** The last ack went out (right before session.end): no more. */
  #done = false;

  constructor(state: SessionState, dropped: () => DropTotals, sendAck: (bytes: number) => void) {
    this.#state = state;
    this.#dropped = dropped;
    this.#sendAck = sendAck;
    this.#durable = state.exists ? state.progress().clientBytes : 0;
    this.#handled = this.#durable;
  }

  /** Client bytes the session holds durably. */
  get durableBytes(): number {
    return this.#durable;
  }

  /** A frame of the client's stream was handled (recorded or refused). */
  handled(bytes: number): void {
    this.#handled += bytes;
  }

  /**
   * Persist the position (inside the recorder's spool transaction, or after
   * a spool that had nothing to write), then ack it soon.
   */
  persist(): void {
    this.#state.saveProgress({ clientBytes: this.#handled, dropped: this.#dropped() });
    this.#durable = this.#handled;
    this.#ackSoon();
  }

  /** The last ack, right before session.end: the whole stream as the session holds it, heard or not. */
  finalAck(): void {
    this.#ackNow();
    this.#done = true;
  }

  #ackNow(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#lastAckAt = Date.now();
    this.#acked = this.#durable;
    this.#sendAck(this.#durable);
  }

  #ackSoon(): void {
    if (this.#done || this.#timer !== null || this.#durable === this.#acked) return;
    const wait = Math.max(0, this.#lastAckAt + ACK_INTERVAL_MS - Date.now());
    if (wait === 0) return this.#ackNow();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#done && this.#durable !== this.#acked) this.#ackNow();
    }, wait);
  }
}
