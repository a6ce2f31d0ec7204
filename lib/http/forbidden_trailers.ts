/**
 * Fields that may not come in a trailer section. RFC 9110 §6.5.1: a trailer must not carry what
 * frames the message, routes it, modifies the request, authenticates, controls the response or
 * says how to process the content, since a recipient that merged it into the header section
 * would act on a value nobody checked: `Host: evil` or `Content-Length: 5` after the body. ferry
 * refuses such a message (400, or 502 from a server) rather than pass it on or drop the field
 * silently, as for the other framing ambiguities.
 */
import { isHopByHop } from "./hop_by_hop.ts";

const FORBIDDEN = new Set([
  // message framing (§6.5.1, RFC 9112 §6)
  "content-length",
  "transfer-encoding",
  // routing
  "host",
  // which fields are trailers (the hop-by-hop ones, RFC 9110 §7.6.1, are checked below)
  "trailer",
  // request modifiers: controls and conditionals (§7.6.2, §10.1, §13.1)
  "cache-control",
  "expect",
  "max-forwards",
  "pragma",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
  // authentication (§11) and cookies (RFC 6265)
  "authorization",
  "www-authenticate",
  "cookie",
  "set-cookie",
  // response control data (§6.4.1)
  "age",
  "expires",
  "date",
  "location",
  "retry-after",
  "vary",
  "warning",
  // how to process the content (§8)
  "content-encoding",
  "content-type",
  "content-range",
]);

/** Whether a trailer field named `name` (any case) must be refused. */
export function isForbiddenTrailer(name: string): boolean {
  const lower = name.toLowerCase();
  return FORBIDDEN.has(lower) || isHopByHop(lower);
}
