/**
 * `GET /v1/audio/transcriptions/stream` without an upgrade: the caller's
 * sessions, newest first, cursor-paginated, from the per-owner index in Redis
 * (README "Session history"). Admin keys may list another key's with `owner=`.
 */
import type { Context } from "hono";
import { z } from "zod";
import { queryInt } from "../../protocol/params";
import { isAdmin } from "../../store/auth";
import type { SessionRecord } from "../../store/records";
import { InvalidCursorError, type Store } from "../../store/store";
import type { GatewayEnv } from "../env";
import { ApiError } from "../errors";
import type { HistoryItem, HistoryPage } from "../schemas";
import { fromStore, openStore } from "../store-access";

export const HISTORY_MAX_LIMIT = 100;
export const HISTORY_DEFAULT_LIMIT = 20;

export const historyQuerySchema = z.object({
  limit: queryInt(1, HISTORY_MAX_LIMIT)
    .optional()
    .transform((v) => v ?? HISTORY_DEFAULT_LIMIT),
  cursor: z.string().max(200).optional(),
  owner: z
    .string()
    .regex(/^(key_[0-9a-f]{16}|anonymous)$/, { error: "must be a key id (key_…)" })
    .optional(),
});

async function enhancementOf(store: Store, record: SessionRecord): Promise<HistoryItem["enhancement"]> {
  const jobId = record.enhancement_job_id;
  if (!jobId) return { job_id: null, status: "not_requested" };
  const job = await store.getJob(jobId);
  if (job) return { job_id: jobId, status: job.status };
  return { job_id: jobId, status: record.status === "failed" && record.error ? "failed" : "pending" };
}

export async function listHistory(c: Context<GatewayEnv>): Promise<Response> {
  const parsed = historyQuerySchema.safeParse(c.req.query());
  if (!parsed.success) throw new ApiError("invalid_request", parsed.error.issues[0]?.message ?? "invalid query", String(parsed.error.issues[0]?.path[0] ?? ""));
  const { limit, cursor, owner } = parsed.data;
  const principal = c.get("principal");
  if (owner !== undefined && owner !== principal.keyId && !isAdmin(principal)) {
    throw new ApiError("forbidden", "owner: only admin keys may list another key's sessions", "owner");
  }
  const store = openStore(c.env);
  const page = await fromStore(() =>
    store.listSessions(owner ?? principal.keyId, limit, cursor ?? null).catch((err: unknown) => {
      if (err instanceof InvalidCursorError) throw new ApiError("invalid_request", `cursor: ${err.message}`, "cursor");
      throw err;
    }),
  );
  const sessions = await fromStore(() =>
    Promise.all(
      page.sessions.map(async (r): Promise<HistoryItem> => ({
        session_id: r.id,
        status: r.status,
        created_at: r.created_at,
        ended_at: r.ended_at,
        end_reason: r.end_reason,
        duration_seconds: r.duration_seconds,
        recording_available: r.audio_key !== null,
        enhancement: await enhancementOf(store, r),
      })),
    ),
  );
  return c.json({ sessions, next_cursor: page.next_cursor } satisfies HistoryPage);
}
