/** A raw WebSocket client for `/v1/listen`, and a shape comparison against Deepgram's documented messages. */
import WebSocket from "ws";

// Deepgram's messages are read as plain JSON here: the point is to check their shape, not to trust a type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = Record<string, any>;

export interface DeepgramWire {
  ws: WebSocket;
  /** `dg-request-id` of the upgrade response: the session id. */
  requestId: string;
  messages: Message[];
  closed: Promise<{ code: number; reason: string }>;
  /** The first message (from the last one returned on) that matches. */
  next(match: (m: Message) => boolean, timeoutMs?: number): Promise<Message>;
  send(data: Uint8Array): Promise<void>;
  sendJson(value: unknown): Promise<void>;
}

export async function openDeepgram(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<DeepgramWire> {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, perMessageDeflate: false });
  const messages: Message[] = [];
  let wake: () => void = () => undefined;
  let isClosed = false;
  ws.on("message", (data) => {
    messages.push(JSON.parse(data.toString()) as Message);
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => {
      isClosed = true;
      wake();
      resolve({ code, reason: reason.toString() });
    }),
  );
  let requestId = "";
  ws.once("upgrade", (res) => (requestId = String(res.headers["dg-request-id"] ?? "")));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let from = 0;
  const send = (data: Uint8Array | string) => new Promise<void>((resolve, reject) => ws.send(data, (err) => (err ? reject(err) : resolve())));
  return {
    ws,
    requestId,
    messages,
    closed,
    send,
    sendJson: (value) => send(JSON.stringify(value)),
    async next(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = messages.findIndex((m, i) => i >= from && match(m));
        if (index >= 0) {
          from = index + 1;
          return messages[index]!;
        }
        if (isClosed || Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(messages.map((m) => m.type))}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

/**
 * Where `actual` differs from the documented `reference` in shape: every key
 * the reference has must be there with the same kind of value (arrays by
 * their first element). Extra keys are this service's additions and allowed.
 */
export function sameShape(actual: unknown, reference: unknown, skip: string[] = [], path = "$"): string[] {
  const kind = (v: unknown) => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v);
  if (kind(actual) !== kind(reference)) return [`${path}: ${kind(actual)} where Deepgram has ${kind(reference)}`];
  if (Array.isArray(reference) && Array.isArray(actual)) {
    return reference.length > 0 && actual.length > 0 ? sameShape(actual[0], reference[0], skip, `${path}[0]`) : [];
  }
  if (kind(reference) !== "object") return [];
  const a = actual as Record<string, unknown>;
  return Object.entries(reference as Record<string, unknown>).flatMap(([key, value]) =>
    skip.includes(key) ? [] : key in a ? sameShape(a[key], value, skip, `${path}.${key}`) : [`${path}.${key}: missing`],
  );
}
