/**
 * Field lines (RFC 9112 §5), shared by request and response parsing. Strict on purpose: every
 * form that two parsers could read differently is refused rather than guessed at.
 */
import type { Fields } from "./headers.ts";
import { isFieldValue, isToken, trimOws } from "./syntax.ts";

export type FieldsResult = { ok: true; fields: Fields } | { ok: false; tooMany: boolean; message: string };

/** Parses `lines` (without their CRLFs) into fields; at most `maxFields` of them. */
export function parseFields(lines: string[], maxFields: number): FieldsResult {
  const fields: Fields = [];
  for (const line of lines) {
    if (fields.length >= maxFields) {
      return { ok: false, tooMany: true, message: `too many header fields (limit ${maxFields})` };
    }
    const c0 = line.charCodeAt(0);
    // RFC 9112 §5.2: obs-fold is deprecated; a server may reject it with 400, and a proxy
    // that unfolded it would forward something the origin never saw. Reject.
    if (c0 === 0x20 || c0 === 0x09) {
      return { ok: false, tooMany: false, message: `obsolete line folding in header section: ${quote(line)}` };
    }
    const colon = line.indexOf(":");
    if (colon <= 0) return { ok: false, tooMany: false, message: `malformed header field ${quote(line)}` };
    const name = line.slice(0, colon);
    // RFC 9112 §5.1: no whitespace between field name and colon; a server MUST reject it
    // (400), since some parsers would take "Content-Length " as another field.
    if (!isToken(name)) return { ok: false, tooMany: false, message: `invalid header field name ${quote(name)}` };
    const value = trimOws(line.slice(colon + 1));
    // RFC 9110 §5.5: CR, LF and NUL are never valid in a value; other CTLs are refused too,
    // since downstream software may treat them as delimiters.
    if (!isFieldValue(value)) {
      return { ok: false, tooMany: false, message: `invalid character in header field ${quote(name)}` };
    }
    fields.push([name, value]);
  }
  return { ok: true, fields };
}

/** Splits a head into lines on CRLF; a bare CR or LF anywhere makes it invalid (null). */
export function splitLines(head: string): string[] | null {
  // The head ends with CRLF CRLF; drop it so the split gives no trailing empties.
  const body = head.endsWith("\r\n\r\n") ? head.slice(0, -4) : head;
  const lines = body.split("\r\n");
  for (const l of lines) {
    // RFC 9112 §2.2: a bare CR must be rejected or replaced; a bare LF as a terminator is a
    // leniency that smuggling attacks rely on, so both are refused.
    if (l.includes("\r") || l.includes("\n")) return null;
  }
  return lines;
}

/** A value for an error message: quoted, control bytes escaped, cut at 64 chars. */
export function quote(s: string): string {
  const shown = s.length > 64 ? s.slice(0, 64) + "…" : s;
  return JSON.stringify(shown);
}
