/**
 * Session and job ids (DESIGN §4.4): a prefix and 128 random bits as 32 hex
 * digits. The strict pattern lets routes refuse malformed ids before they reach
 * a key name.
 */

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export const randomHex = (bytes: number) => toHex(crypto.getRandomValues(new Uint8Array(bytes)));

export const newSessionId = () => `sess_${randomHex(16)}`;
export const newJobId = () => `job_${randomHex(16)}`;

export const SESSION_ID_PATTERN = /^sess_[0-9a-f]{32}$/;
export const JOB_ID_PATTERN = /^job_[0-9a-f]{32}$/;

export const isSessionId = (id: string) => SESSION_ID_PATTERN.test(id);
export const isJobId = (id: string) => JOB_ID_PATTERN.test(id);
