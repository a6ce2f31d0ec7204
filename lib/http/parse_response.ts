/**
 * The response head parser (RFC 9112 §4) and response framing (§6.3). Backend responses get
 * the same strictness as client requests: a response ferry would frame differently from the
 * client is answered 502 instead of being passed on.
 */
import { ProxyError } from "../errors.ts";
import { contentLength, type Framing, isChunked, NO_BODY } from "./framing.ts";
import { type Fields, getAll, hasToken } from "./headers.ts";
import { parseFields, quote, splitLines } from "./parse_fields.ts";
import { latin1 } from "./syntax.ts";

export interface ResponseHead {
  version: "HTTP/1.0" | "HTTP/1.1";
  status: number;
  reason: string;
  fields: Fields;
  /** The server lets this connection be reused after the response (RFC 9112 §9.3). */
  keepAlive: boolean;
}

const bad = (message: string) => new ProxyError("upstream_bad_response", message);

export function parseResponseHead(head: Uint8Array, maxFields: number): ResponseHead {
  const lines = splitLines(latin1(head));
  if (!lines) throw bad("bare CR or LF in response head");
  // RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase]. The SP before an empty reason
  // is often omitted in practice; that form is unambiguous, so it is accepted.
  // RFC 9110 §15: status codes are 100 to 599; anything else is not a status a client can act on.
  const m = /^(HTTP\/1\.[01]) ([1-5][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/.exec(lines[0]);
  if (!m) throw bad(`malformed status line ${quote(lines[0])}`);
  const version = m[1] as "HTTP/1.0" | "HTTP/1.1";
  const parsed = parseFields(lines.slice(1), maxFields);
  if (!parsed.ok) throw bad(parsed.message);
  const fields = parsed.fields;
  return {
    version,
    status: Number(m[2]),
    reason: m[3] ?? "",
    fields,
    keepAlive: version === "HTTP/1.1"
      ? !hasToken(fields, "connection", "close")
      : hasToken(fields, "connection", "keep-alive") && !hasToken(fields, "connection", "close"),
  };
}

/** RFC 9112 §6.3: how the body of `res`, answering a `method` request, is framed. */
export function responseFraming(res: ResponseHead, method: string): Framing {
  // Rule 1: HEAD responses and 1xx/204/304 never have a body, whatever the fields say.
  if (method === "HEAD" || res.status < 200 || res.status === 204 || res.status === 304) return NO_BODY;
  const hasTe = getAll(res.fields, "transfer-encoding").length > 0;
  const cl = contentLength(res.fields, "upstream_bad_response");
  if (hasTe) {
    // Rule 3 lets Transfer-Encoding override Content-Length, but such a response is a
    // smuggling vector toward the client; refuse it instead.
    if (cl !== undefined) throw bad("response has both Transfer-Encoding and Content-Length");
    if (res.version === "HTTP/1.0") throw bad("Transfer-Encoding in an HTTP/1.0 response");
    isChunked(res.fields, "upstream_bad_response");
    return { kind: "chunked" };
  }
  if (cl !== undefined) return cl === 0 ? NO_BODY : { kind: "length", length: cl };
  return { kind: "close" };
}
