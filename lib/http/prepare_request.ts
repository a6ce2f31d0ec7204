/**
 * The request as the backend will see it: hop-by-hop fields removed (RFC 9110 §7.6.1), the
 * forwarding fields added, and the framing fields rewritten to exactly what ferry sends.
 */
import { type Fields, has, removeAll } from "./headers.ts";
import { addForwardingHeaders } from "./forwarded.ts";
import { stripHopByHop } from "./hop_by_hop.ts";
import type { RequestHead } from "./parse_request.ts";
import { serializeRequestHead } from "./serialize.ts";

export interface PrepareInfo {
  clientIp: string;
  proto: string;
  /** Used as Host when the client sent none (HTTP/1.0): HTTP/1.1 requires one (RFC 9112 §3.2). */
  fallbackHost: string;
}

const FRAMING = new Set(["content-length", "transfer-encoding"]);

export function prepareRequestFields(req: RequestHead, info: PrepareInfo): Fields {
  let fields = removeAll(stripHopByHop(req.fields), FRAMING);
  if (!has(fields, "host")) fields.push(["Host", req.authority || info.fallbackHost]);
  fields = addForwardingHeaders(fields, {
    clientIp: info.clientIp,
    proto: info.proto,
    host: req.authority,
    version: req.version.slice(5),
  });
  // One normalised framing field: duplicates that were accepted as identical are sent once.
  if (req.body.kind === "length") fields.push(["Content-Length", String(req.body.length)]);
  else if (req.body.kind === "chunked") fields.push(["Transfer-Encoding", "chunked"]);
  else if (has(req.fields, "content-length")) fields.push(["Content-Length", "0"]);
  // An upgrade is hop-by-hop by nature; ferry re-requests it on its own hop (RFC 9110 §7.8).
  if (req.upgrade) fields.push(["Connection", "upgrade"], ["Upgrade", req.upgrade]);
  return fields;
}

/** The request head bytes sent upstream, always as HTTP/1.1 (RFC 9110 §6.2). */
export function prepareRequestHead(req: RequestHead, info: PrepareInfo): Uint8Array {
  return serializeRequestHead(req.method, req.forwardTarget, prepareRequestFields(req, info));
}
