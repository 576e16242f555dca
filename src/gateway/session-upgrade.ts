/**
 * Opening a live session, whatever wire the client speaks: the concurrency
 * slot, the typed hand-off and the forwarded upgrade (DESIGN §2: the gateway
 * forwards the upgrade to the session object). Routes validate their own
 * parameters and credentials first.
 */
import type { Context } from "hono";
import { readConfig } from "../config";
import type { DeepgramLiveOptions } from "../protocol/deepgram/params";
import type { ProtocolName } from "../protocol/client-protocol";
import type { SessionConfig } from "../protocol/params";
import { encodeHandoff } from "../session/handoff";
import { newSessionId } from "../store/ids";
import type { GatewayEnv } from "./env";
import { spendBrowserToken, type UpgradeCaller } from "./auth";
import { ApiError } from "./errors";
import { fromStore, openAuthStore } from "./store-access";

export interface SessionOpening {
  config: SessionConfig;
  protocol: ProtocolName;
  deepgram?: DeepgramLiveOptions;
  /** Request headers that carry credentials and must not reach the object. */
  dropHeaders?: string[];
}

/** Refuse anything but a WebSocket upgrade, before any state is touched. */
export function requireUpgrade(c: Context<GatewayEnv>): void {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    c.header("Upgrade", "websocket");
    throw new ApiError("upgrade_required", "this endpoint speaks WebSocket: send Upgrade: websocket");
  }
}

/**
 * A new session object for this upgrade; its answer (101 with the socket) and
 * id. Call once everything the request alone can get wrong was checked: the
 * concurrency slot is taken, then a one-use browser token is spent, and both
 * are given back when the session does not open.
 */
export async function openSession(c: Context<GatewayEnv>, caller: UpgradeCaller, opening: SessionOpening): Promise<{ sessionId: string; response: Response }> {
  const { auth } = readConfig(c.env);
  const { principal, browserToken } = caller;
  const sessionId = newSessionId();
  const limited = auth.mode === "required";
  /** What to undo if the session does not open: the slot, then the token. */
  const undo: (() => Promise<void>)[] = [];
  if (limited) {
    const store = openAuthStore(c.env);
    const ok = await fromStore(() => store.acquireSlot(principal.keyId, sessionId, auth.maxConcurrentSessions, auth.slotLeaseSeconds));
    if (!ok) {
      throw new ApiError("rate_limited", `this key already has ${auth.maxConcurrentSessions} live sessions (MAX_CONCURRENT_SESSIONS_PER_KEY)`);
    }
    undo.push(() => store.releaseSlot(principal.keyId, sessionId));
  }
  const rollBack = async () => {
    for (const step of undo) await step().catch(() => undefined);
  };
  const headers = new Headers(c.req.raw.headers);
  for (const name of ["authorization", ...(opening.dropHeaders ?? [])]) headers.delete(name);
  encodeHandoff(
    {
      kind: "start",
      sessionId,
      config: opening.config,
      owner: principal.keyId,
      holdsSlot: limited,
      protocol: opening.protocol,
      ...(opening.deepgram ? { deepgram: opening.deepgram } : {}),
    },
    headers,
  );
  // The URL reaching the object carries no credentials: it is never logged with them.
  const url = new URL(c.req.url);
  url.search = "";
  const stub = c.env.SESSIONS.get(c.env.SESSIONS.idFromName(sessionId));
  try {
    if (browserToken) undo.push(await spendBrowserToken(c, browserToken));
    const response = await stub.fetch(new Request(url, { headers }));
    if (response.status !== 101) await rollBack();
    return { sessionId, response };
  } catch (err) {
    await rollBack();
    throw err;
  }
}
