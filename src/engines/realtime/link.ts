/**
 * Pieces every realtime adapter needs around its socket: a bounded outbox that
 * queues while the link is connecting (audio is never dropped silently), and a
 * bounded wait for the engine's last results.
 */

/** Sends at once when the socket is open; queues in order, within a bound, until then. */
export class LinkOutbox {
  #socket: WebSocket | null = null;
  #queue: (Uint8Array | string)[] = [];
  #queuedBytes = 0;
  readonly #maxQueuedBytes: number;

  constructor(maxQueuedBytes: number) {
    this.#maxQueuedBytes = maxQueuedBytes;
  }

  /**
   * Send, or queue while connecting. Returns false when the queued audio passed
   * the bound: the caller fails the link (its recording still has the audio).
   */
  send(data: Uint8Array | string): boolean {
    if (this.#socket) {
      this.#socket.send(data);
      return true;
    }
    if (typeof data === "string") {
      this.#queue.push(data);
      return true;
    }
    // The caller may reuse its buffer; the queue keeps its own copy.
    this.#queue.push(data.slice());
    this.#queuedBytes += data.byteLength;
    return this.#queuedBytes <= this.#maxQueuedBytes;
  }

  /** The socket opened: send what was queued, in order, then send directly. */
  open(socket: WebSocket): void {
    for (const item of this.#queue) socket.send(item);
    this.clear();
    this.#socket = socket;
  }

  /** Drop what is queued and stop sending (the link closed or failed). */
  clear(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#socket = null;
  }
}

/** Wait for `done`, but no longer than `ms`. */
export async function waitAtMost(done: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  if (timer !== null) clearTimeout(timer);
}
