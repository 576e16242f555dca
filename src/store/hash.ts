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
