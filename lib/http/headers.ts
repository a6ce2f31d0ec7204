/**
 * Header fields as an ordered list of [name, value] pairs, names kept as received: a proxy
 * forwards what it does not need to understand, in order and byte for byte (RFC 9110 §5.3:
 * the order of same-named fields is significant).
 */
import { trimOws } from "./syntax.ts";

export type Field = [name: string, value: string];
export type Fields = Field[];

/** Values of every field named `name` (case-insensitive), in order. */
export function getAll(fields: Fields, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [n, v] of fields) if (n.length === lower.length && n.toLowerCase() === lower) out.push(v);
  return out;
}

/** The first value of `name`, or undefined. */
export function get(fields: Fields, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of fields) if (n.length === lower.length && n.toLowerCase() === lower) return v;
  return undefined;
}

export function has(fields: Fields, name: string): boolean {
  return get(fields, name) !== undefined;
}

/** Removes every field whose lowercase name is in `names` (a set of lowercase names). */
export function removeAll(fields: Fields, names: ReadonlySet<string>): Fields {
  return fields.filter(([n]) => !names.has(n.toLowerCase()));
}

/** Replaces every field named `name` with one field. */
export function set(fields: Fields, name: string, value: string): Fields {
  const lower = name.toLowerCase();
  const out = fields.filter(([n]) => n.length !== lower.length || n.toLowerCase() !== lower);
  out.push([name, value]);
  return out;
}

/**
 * The comma-separated list elements of every `name` field, lowercased and trimmed, empty
 * elements dropped (RFC 9110 §5.6.1: recipients ignore empty list elements).
 */
export function tokens(fields: Fields, name: string): string[] {
  const out: string[] = [];
  for (const v of getAll(fields, name)) {
    for (const part of v.split(",")) {
      // OWS only (RFC 9110 §5.6.1): `chunked<0xA0>` is not `chunked`, whatever trim() thinks.
      const t = trimOws(part).toLowerCase();
      if (t) out.push(t);
    }
  }
  return out;
}

/** True when a list-valued field (Connection, Transfer-Encoding, …) contains `token`. */
export function hasToken(fields: Fields, name: string, token: string): boolean {
  return tokens(fields, name).includes(token);
}
