/**
 * The fields a proxy adds so the backend knows who really asked: X-Forwarded-For (appended,
 * never replaced: earlier proxies' entries stay, as in Go's ReverseProxy), X-Forwarded-Proto and
 * X-Forwarded-Host (set), and Via (RFC 9110 §7.6.3: a proxy MUST add itself).
 */
import { type Fields, getAll, set } from "./headers.ts";

export const VIA_NAME = "ferry";

export interface ForwardInfo {
  /** The client's IP address. */
  clientIp: string;
  /** "http" or "https": the scheme the client used to reach ferry. */
  proto: string;
  /** The authority the client asked for (its Host). */
  host: string;
  /** The request's HTTP version, "1.0" or "1.1", for Via. */
  version: string;
}

export function addForwardingHeaders(fields: Fields, info: ForwardInfo): Fields {
  const prior = getAll(fields, "x-forwarded-for").join(", ");
  let out = set(fields, "X-Forwarded-For", prior ? `${prior}, ${info.clientIp}` : info.clientIp);
  out = set(out, "X-Forwarded-Proto", info.proto);
  if (info.host) out = set(out, "X-Forwarded-Host", info.host);
  return appendVia(out, info.version);
}

/** Adds this hop to Via, keeping the hops before it (RFC 9110 §7.6.3). */
export function appendVia(fields: Fields, version: string): Fields {
  const prior = getAll(fields, "via").join(", ");
  const me = `${version} ${VIA_NAME}`;
  return set(fields, "Via", prior ? `${prior}, ${me}` : me);
}
