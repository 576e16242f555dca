/**
 * How a session's socket is closed (DESIGN §4.3): 1000 after `session.end`,
 * 4000-range codes with a preceding `error` otherwise, and the echo of a
 * client's own close.
 */
import { CLOSE_CODES, ERROR_CODES, type ErrorCode } from "../protocol/messages";

export interface CloseSpec {
  code: number;
  reason: string;
  /** Sent as a non-recoverable `error` before `session.end`. */
  error?: { code: ErrorCode; message: string };
}

export const NORMAL_CLOSE: CloseSpec = { code: CLOSE_CODES.normal, reason: "session ended" };

export const INTERNAL_ERROR_CLOSE: CloseSpec = {
  code: CLOSE_CODES.internalError,
  reason: "internal error",
  error: { code: ERROR_CODES.internal, message: "internal error; the session has ended and its recording is complete" },
};

export const maxDurationClose = (message: string): CloseSpec => ({
  code: CLOSE_CODES.maxDuration,
  reason: "maximum session duration reached",
  error: { code: ERROR_CODES.maxDuration, message: `${message}; the session has ended and its recording is complete` },
});

/** How a session ended by its alarm is closed. */
export function closeFor(reason: "client_gone" | "idle_timeout" | "max_duration", idleTimeoutSeconds: number): CloseSpec {
  switch (reason) {
    case "client_gone":
      return { code: CLOSE_CODES.normal, reason: "client gone" };
    case "idle_timeout":
      return {
        code: CLOSE_CODES.idleTimeout,
        reason: "idle timeout",
        error: { code: ERROR_CODES.idleTimeout, message: `no message for ${idleTimeoutSeconds} s; the session has ended` },
      };
    case "max_duration":
      return maxDurationClose("maximum session duration reached");
  }
}

/**
 * The code to answer a client's close with (RFC 6455 §5.5.1: echo it): its
 * own, unless it may not be sent on the wire (1004–1006 reserved, 1015 TLS,
 * anything outside 1000–1014 and 3000–4999), then 1000.
 */
export function echoableCloseCode(code: number): number {
  const sendable = (code >= 1000 && code <= 1014 && (code < 1004 || code > 1006)) || (code >= 3000 && code <= 4999);
  return sendable ? code : CLOSE_CODES.normal;
}
