/** Shapes shared by the emulator's modules and exposed to tests and the CLI. */

/** Misbehaviour switches. Mutable: tests set fields directly or POST them to /__emulator/control. */
export interface EmulatorControl {
  /** Answer every realtime upgrade with HTTP 503. */
  refuseConnections: boolean;
  /** Destroy each NEW realtime connection (no close frame) once it has received this many audio bytes. */
  dropAfterBytes: number | null;
  /** Delay every outbound realtime message by this much, keeping order. */
  resultDelayMs: number;
  /** The next N batch/LLM HTTP requests answer `failHttpStatus`. */
  failHttpNext: number;
  failHttpStatus: number;
}

export function defaultControl(): EmulatorControl {
  return { refuseConnections: false, dropAfterBytes: null, resultDelayMs: 0, failHttpNext: 0, failHttpStatus: 503 };
}

export interface SessionStats {
  /** Realtime connections that used this session_id. */
  connections: number;
  bytesReceived: number;
  /** Binary (audio) frames. */
  framesReceived: number;
  flushes: number;
  ends: number;
  keepalives: number;
  /** sha256 (hex) of all audio received for this session, in order; in stats snapshots only. */
  audioSha256?: string;
}

export interface EmulatorStats {
  connectionsOpened: number;
  connectionsRefused: number;
  connectionsDropped: number;
  openConnections: number;
  /** Keyed by the `session_id` query parameter (`anonymous-<n>` when absent). */
  sessions: Record<string, SessionStats>;
  /** Keyed by path (without query); /__emulator/* is not counted. */
  httpRequests: Record<string, number>;
}

export function emptyStats(): EmulatorStats {
  return {
    connectionsOpened: 0,
    connectionsRefused: 0,
    connectionsDropped: 0,
    openConnections: 0,
    sessions: {},
    httpRequests: {},
  };
}

/** An HTTP answer before it meets the socket: handlers stay testable without a server. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}
