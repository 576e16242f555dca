/**
 * Who may resume a session (DESIGN §4.3.1), decided from the session's own
 * state: the same key that opened it, with its secret token, while it is
 * still live. The gateway needs no store read for this, so a reconnect does
 * not wait for Redis.
 */
import { randomHex } from "../store/ids";
import type { ResumeHandoff } from "./handoff";
import type { SessionMeta } from "./state";

export const newResumeToken = () => `rt_${randomHex(16)}`;

export interface ResumeRefusal {
  status: 401 | 404 | 409 | 410;
  code: "unauthorized" | "not_found" | "conflict" | "gone";
  message: string;
}

/** Why this resume is refused, or null when it may go ahead. */
export function refuseResume(meta: SessionMeta | null, handoff: ResumeHandoff, now: number, graceSeconds: number): ResumeRefusal | null {
  // Another key is told exactly what an unknown id is told.
  if (!meta || meta.owner !== handoff.owner) return { status: 404, code: "not_found", message: "session not found" };
  if (!meta.resumeToken || !sameSecret(meta.resumeToken, handoff.resumeToken)) {
    return { status: 401, code: "unauthorized", message: "resume_token does not match this session" };
  }
  const graceOver = meta.clientGoneAt !== null && now >= meta.clientGoneAt + graceSeconds * 1000;
  if (meta.phase !== "active" && meta.endReason !== "client_gone") {
    return { status: 409, code: "conflict", message: "the session has ended (it received end, or hit a limit); read it with GET /v1/audio/transcriptions/stream/{session_id}" };
  }
  if (meta.phase !== "active" || graceOver) {
    return {
      status: 410,
      code: "gone",
      message: `the session was finalized after ${graceSeconds} s without a connection (CLIENT_GONE_GRACE_SECONDS); its recording is complete`,
    };
  }
  return null;
}

/** Compare secrets in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
