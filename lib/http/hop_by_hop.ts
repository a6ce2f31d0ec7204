/**
 * Hop-by-hop fields describe one connection, not the message, so a proxy must not forward
 * them (RFC 9110 §7.6.1): the fixed list below, plus every field named in `Connection`.
 */
import { type Fields, tokens } from "./headers.ts";

/**
 * RFC 9110 §7.6.1 names Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding and
 * Upgrade; Proxy-Authenticate/Proxy-Authorization are meant for this proxy, not the next hop
 * (RFC 9110 §11.7). Transfer-Encoding is re-added by ferry when it forwards a chunked body.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "te",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
]);

/** Whether `name` (lower-case) is always hop-by-hop, whether or not Connection lists it. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/**
 * The fields without hop-by-hop ones. In a request, `TE: trailers` survives, as in Go's
 * ReverseProxy: it tells the origin the client accepts trailers, which gRPC needs, and ferry
 * passes them on. In a response TE means nothing (RFC 9110 §10.1.4 defines it for requests) and
 * goes with the rest.
 */
export function stripHopByHop(fields: Fields, message: "request" | "response" = "request"): Fields {
  const listed = tokens(fields, "connection").filter((name) => !HOP_BY_HOP.has(name));
  const drop = listed.length ? new Set([...HOP_BY_HOP, ...listed]) : HOP_BY_HOP;
  const out: Fields = [];
  let teTrailers = false;
  for (const f of fields) {
    const lower = f[0].toLowerCase();
    if (lower === "te" && message === "request" && f[1].split(",").some((t) => t.trim().toLowerCase() === "trailers")) teTrailers = true;
    if (!drop.has(lower)) out.push(f);
  }
  if (teTrailers) out.push(["TE", "trailers"]);
  return out;
}
