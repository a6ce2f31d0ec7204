/**
 * `hash_key:` – which part of a request `balance: hash` hashes – and reading that part from a
 * request. A request that lacks it has no key (undefined), and the policy spreads it by round
 * robin rather than sending every such request to one server.
 */
import type { HashKey } from "../config/types.ts";
import { getAll } from "../http/headers.ts";
import { isToken, isVisibleAscii } from "../http/syntax.ts";

/** What `hashKeyOf` reads from a request. */
export interface HashKeySource {
  /** The request-target as received (origin-form or absolute-form), query included. */
  target: string;
  path: string;
  fields: [string, string][];
}

/** The request's value for `key`, or undefined when the request has no such header, cookie or parameter. */
export function hashKeyOf(key: HashKey, req: HashKeySource): string | undefined {
  switch (key.from) {
    case "header": {
      // RFC 9110 §5.3: same-named fields are one field whose values are joined with ", ".
      const values = getAll(req.fields, key.name);
      return values.length === 0 ? undefined : values.join(", ");
    }
    case "cookie":
      return cookieValue(req.fields, key.name);
    case "query":
      return queryValue(req.target, key.name);
    case "path":
      return req.path;
  }
}

/**
 * The first cookie named exactly `name` (names are case-sensitive) in the Cookie field(s).
 * RFC 6265 §5.4 sends `name=value` pairs joined by "; "; whitespace around the pairs and a
 * missing space are tolerated, as clients are not all strict. HTTP/2 may split the cookies over
 * several fields (RFC 9113 §8.2.3), so every Cookie field is searched, in order.
 */
function cookieValue(fields: [string, string][], name: string): string | undefined {
  for (const header of getAll(fields, "cookie")) {
    for (const pair of header.split(";")) {
      const eq = pair.indexOf("=");
      // A pair without "=" has no name (RFC 6265 §5.2 ignores such pairs): never a match.
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/**
 * The first value of parameter `name` in the query of `target`, raw (not percent-decoded: the
 * hash only needs equal keys to stay equal). A parameter without "=" has the empty value.
 */
function queryValue(target: string, name: string): string | undefined {
  const q = target.indexOf("?");
  if (q < 0) return undefined;
  let end = target.indexOf("#", q);
  if (end < 0) end = target.length;
  let start = q + 1;
  while (start <= end) {
    let amp = target.indexOf("&", start);
    if (amp < 0 || amp > end) amp = end;
    const param = target.slice(start, amp);
    const eq = param.indexOf("=");
    if ((eq < 0 ? param : param.slice(0, eq)) === name) return eq < 0 ? "" : param.slice(eq + 1);
    start = amp + 1;
  }
  return undefined;
}

const FORMS = `"header:NAME", "cookie:NAME", "query:NAME" or "path"`;

/**
 * Parses a `hash_key:` value, or returns an error message. Header and cookie names must be
 * tokens (RFC 9110 §5.6.2, RFC 6265 §4.1.1); a query name is matched as written, so it may be
 * any visible ASCII except the "&", "=" and "#" that delimit it.
 */
export function parseHashKey(text: string): HashKey | string {
  if (text === "path") return { from: "path" };
  const colon = text.indexOf(":");
  const kind = colon < 0 ? text : text.slice(0, colon);
  const name = text.slice(colon + 1);
  if (colon >= 0) {
    if ((kind === "header" || kind === "cookie") && isToken(name)) return { from: kind, name };
    if (kind === "query" && isVisibleAscii(name) && !/[&=#]/.test(name)) return { from: "query", name };
  }
  return `must be ${FORMS}, got "${text}"`;
}
