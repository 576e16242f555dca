/**
 * Waiting helpers shared by the pool tests (inside workerd) and the e2e suite
 * (Node): nothing here may import a Node or workerd module.
 */
import type { ServerMessage } from "../../src/protocol/messages";

/** Poll `fn` until it returns something truthy. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, stepMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The server messages of one session, in arrival order, awaited by type. */
export class MessageInbox {
  readonly messages: ServerMessage[] = [];
  /** Arrival time (ms, performance.now) of each message. */
  readonly times: number[] = [];
  #wake: (() => void)[] = [];
  #seenByType = new Map<string, number>();
  #closed = false;
  readonly #defaultTimeoutMs: number;

  constructor(defaultTimeoutMs: number) {
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  push(message: ServerMessage): void {
    this.messages.push(message);
    this.times.push(performance.now());
    this.#wakeAll();
  }

  /** The socket closed: waits for messages that never came fail at once. */
  close(): void {
    this.#closed = true;
    this.#wakeAll();
  }

  /** The next message of `type` after the last one returned for that type. */
  async next<T extends ServerMessage["type"]>(type: T, timeoutMs = this.#defaultTimeoutMs): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const from = this.#seenByType.get(type) ?? 0;
      const index = this.messages.findIndex((m, i) => i >= from && m.type === type);
      if (index >= 0) {
        this.#seenByType.set(type, index + 1);
        return this.messages[index] as Extract<ServerMessage, { type: T }>;
      }
      if (Date.now() > deadline || this.#closed) {
        throw new Error(`no ${type} within ${timeoutMs} ms; got ${this.messages.map((m) => m.type).join(", ")}`);
      }
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  #wakeAll(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}
