/**
 * The fields a proxy adds so the backend knows who really asked: X-Forwarded-For (appended,
 * never replaced: earlier proxies' entries stay, as in Go's ReverseProxy), X-Forwarded-Proto and
 * X-Forwarded-Host (set), and Via (RFC 9110 §7.6.3: a proxy MUST add itself).
 */
import type { Fields } from "./headers.ts";

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
  const out: Fields = [];
  const xff: string[] = [];
  const via: string[] = [];
  for (const f of fields) {
    const lower = f[0].toLowerCase();
    if (lower === "x-forwarded-for") xff.push(f[1]);
    else if (lower === "via") via.push(f[1]);
    // Set, not appended: only ferry knows the scheme and host the client really used.
    else if (lower !== "x-forwarded-proto" && lower !== "x-forwarded-host") out.push(f);
  }
  xff.push(info.clientIp);
  out.push(["X-Forwarded-For", xff.join(", ")], ["X-Forwarded-Proto", info.proto]);
  if (info.host) out.push(["X-Forwarded-Host", info.host]);
  via.push(`${info.version} ${VIA_NAME}`);
  out.push(["Via", via.join(", ")]);
  return out;
}

/** Adds this hop to Via, keeping the hops before it (RFC 9110 §7.6.3). */
export function appendVia(fields: Fields, version: string): Fields {
  const out: Fields = [];
  const via: string[] = [];
  for (const f of fields) {
    if (f[0].length === 3 && f[0].toLowerCase() === "via") via.push(f[1]);
    else out.push(f);
  }
  via.push(`${version} ${VIA_NAME}`);
  out.push(["Via", via.join(", ")]);
  return out;
}
