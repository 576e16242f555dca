/**
 * Which callback URLs this service POSTs to (README "Using a Deepgram client",
 * Prerecorded). Kept apart from the delivery so it stays free of the worker's
 * bindings.
 */

export class CallbackUrlError extends Error {}

/**
 * A callback URL this service will POST to: https, no credentials in it, and
 * no loopback, private or link-local literal address unless the deployment
 * allows private hosts (local dev). Host names are not resolved here.
 */
export function checkCallbackUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackUrlError("callback: not a URL");
  }
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) throw new CallbackUrlError("callback: must be an https URL");
  if (url.username || url.password) throw new CallbackUrlError("callback: credentials in the URL are not allowed");
  if (!allowPrivate && isPrivateHost(url.hostname)) throw new CallbackUrlError("callback: loopback and private hosts are not allowed");
  return url;
}

function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost") || h === "0.0.0.0" || h === "::" || h === "::1") return true;
  if (/^(fc|fd|fe[89ab])[0-9a-f]{0,2}:/.test(h)) return true;
  const v4 = h.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (!v4) return false;
  const [a, b] = [Number(v4[1]), Number(v4[2])];
  return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}
