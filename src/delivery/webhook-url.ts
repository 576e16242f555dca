/**
 * Which webhook URLs are accepted (README "Webhooks"): https only, no
 * credentials in the URL, no loopback, private, link-local or otherwise
 * internal hosts, unless local development allows them
 * (WEBHOOK_ALLOW_LOCAL_URLS=true, set by `npm run dev` and the tests).
 *
 * Checked when a URL is given (session start, upload, `npm run keys`) and again
 * before every attempt, so a URL stored under laxer settings is not used.
 * Hostnames are not resolved (a Worker cannot): a public name pointing at a
 * private address is stopped by the platform, whose fetch() does not reach
 * private networks.
 */

export const MAX_WEBHOOK_URL_CHARS = 2048;

export class WebhookUrlError extends Error {
  override name = "WebhookUrlError";
}

export function checkWebhookUrl(raw: string, allowLocal: boolean): URL {
  if (raw.length > MAX_WEBHOOK_URL_CHARS) throw new WebhookUrlError(`must be at most ${MAX_WEBHOOK_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError("must be an absolute https:// URL");
  }
  if (url.protocol !== "https:" && !(allowLocal && url.protocol === "http:")) {
    throw new WebhookUrlError(allowLocal ? "must be an http:// or https:// URL" : "must be an https:// URL");
  }
  if (url.username || url.password) throw new WebhookUrlError("must not carry credentials (user:password@); the signature authenticates the sender");
  if (!allowLocal && isInternalHost(url.hostname)) {
    throw new WebhookUrlError(`host '${url.hostname}' is loopback, private or internal; webhooks go to public hosts only`);
  }
  return url;
}

/** Loopback, private, link-local, CGNAT, unspecified, multicast and reserved addresses, and local names. */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) return true;
  if (!host.includes(".") && !host.includes(":")) return true; // a bare name only resolves on an internal network
  const v4 = parseIpv4(host);
  if (v4) return isInternalIpv4(v4);
  if (host.includes(":")) return isInternalIpv6(host);
  return false;
}

function parseIpv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function isInternalIpv4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b! >= 64 && b! <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a! >= 224 // multicast, reserved, broadcast
  );
}

function isInternalIpv6(host: string): boolean {
  if (host === "::" || host === "::1") return true;
  // IPv4-mapped/compatible (::ffff:10.0.0.1 or ::ffff:a00:1): judge the IPv4 address.
  const mapped = /^::(ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped) {
    const v4 = parseIpv4(mapped[2]!);
    return v4 ? isInternalIpv4(v4) : true;
  }
  if (/^::ffff:/.test(host)) return true;
  const first = parseInt(host.split(":")[0] || "0", 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 // multicast
  );
}
