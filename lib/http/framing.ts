/**
 * How a message body is delimited (RFC 9112 §6.3). Decided once per message by the parsers;
 * the body copiers in `body.ts` only follow it.
 */
import { ProxyError } from "../errors.ts";
import { type Fields, getAll, tokens } from "./headers.ts";
import { trimOws } from "./syntax.ts";

export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  /** Response only: the body runs until the server closes (RFC 9112 §6.3 rule 8). */
  | { kind: "close" };

export const NO_BODY: Framing = { kind: "none" };

/**
 * The Content-Length of a message, or undefined without one. Repeated or comma-listed values
 * are accepted only when all are the same number (RFC 9110 §8.6); anything else cannot be
 * framed unambiguously and is refused (RFC 9112 §6.3 rule 5).
 */
export function contentLength(fields: Fields, kind: "bad_request" | "upstream_bad_response"): number | undefined {
  const values = getAll(fields, "content-length");
  if (values.length === 0) return undefined;
  let result: number | undefined;
  for (const v of values) {
    for (const part of v.split(",")) {
      // RFC 9110 §8.6: Content-Length = 1*DIGIT; only OWS may surround a list element (§5.6.1).
      // A sign, "0x", inner spaces, NBSP or an empty element make the framing invalid (RFC 9112
      // §6.3 rule 5): 400 / 502, never a guess. 15 digits stay exact as a JS number.
      const s = trimOws(part);
      if (!/^[0-9]{1,15}$/.test(s)) throw new ProxyError(kind, `invalid Content-Length ${JSON.stringify(v)}`);
      const n = Number(s);
      if (result !== undefined && n !== result) {
        throw new ProxyError(kind, `conflicting Content-Length values ${JSON.stringify(values.join(", "))}`);
      }
      result = n;
    }
  }
  return result;
}

/**
 * Whether Transfer-Encoding says chunked. Only a lone `chunked` is accepted: ferry forwards
 * chunked bodies as they are and cannot decode other codings, and RFC 9112 §6.3 rule 4 makes a
 * final coding other than chunked unframeable for requests.
 */
export function isChunked(fields: Fields, kind: "bad_request" | "upstream_bad_response"): boolean | undefined {
  const te = tokens(fields, "transfer-encoding");
  if (getAll(fields, "transfer-encoding").length === 0) return undefined;
  if (te.length === 1 && te[0] === "chunked") return true;
  const what = JSON.stringify(getAll(fields, "transfer-encoding").join(", "));
  // RFC 9112 §6.1, §6.3 rule 4: chunked must be the final coding; `chunked;q=1` (chunked
  // takes no parameters, and "q" is reserved for TE, RFC 9110 §10.1.4: some parsers would see
  // chunked there, some not), `identity` (gone since RFC 7230) or anything else last is
  // unframeable: 400 / 502.
  if (te.length === 0 || te[te.length - 1] !== "chunked") {
    throw new ProxyError(kind, `unsupported Transfer-Encoding ${what}: the final coding must be chunked`);
  }
  // RFC 9112 §6.1: a sender MUST NOT apply chunked more than once, so `chunked, chunked` (in one
  // line or two) is a broken message, not an unknown coding: 400, not 501. Some parsers decode
  // it once and some twice, which is exactly a desynchronisation.
  if (te.indexOf("chunked") !== te.length - 1) {
    throw new ProxyError(kind, `invalid Transfer-Encoding ${what}: chunked applied more than once`);
  }
  throw new ProxyError(kind === "bad_request" ? "not_implemented" : kind, `unsupported Transfer-Encoding ${what}`);
}
