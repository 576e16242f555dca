/**
 * Records are stored as flat Redis hashes: scalars as strings, objects as JSON,
 * null as the empty string. Each record type names which fields are JSON.
 */

export type Hash = Record<string, string>;

export function toHash(record: object, jsonFields: readonly string[]): Hash {
  const out: Hash = {};
  for (const [field, value] of Object.entries(record)) {
    if (value === undefined) continue;
    if (jsonFields.includes(field)) out[field] = value === null ? "" : JSON.stringify(value);
    else out[field] = value === null ? "" : String(value);
  }
  return out;
}

export interface FieldSpec<T> {
  json: readonly (keyof T)[];
  numbers: readonly (keyof T)[];
}

export function fromHash<T>(hash: Hash, spec: FieldSpec<T>): T {
  const out: Record<string, unknown> = {};
  for (const [field, raw] of Object.entries(hash)) {
    if (spec.json.includes(field as keyof T)) out[field] = raw === "" ? null : JSON.parse(raw);
    else if (spec.numbers.includes(field as keyof T)) out[field] = Number(raw);
    else out[field] = raw === "" ? null : raw;
  }
  return out as T;
}

/**
 * HGETALL without the client's automatic deserialization (which would turn
 * stored strings like "42" into numbers) arrives as a flat [field, value, …]
 * array; null when the hash does not exist.
 */
export function hashFromReply(raw: unknown): Hash | null {
  if (Array.isArray(raw)) {
    if (raw.length === 0) return null;
    const hash: Hash = {};
    for (let i = 0; i + 1 < raw.length; i += 2) hash[String(raw[i])] = String(raw[i + 1]);
    return hash;
  }
  if (raw && typeof raw === "object" && Object.keys(raw).length > 0) return raw as Hash;
  return null;
}
