/**
 * Responses ferry writes itself: the `respond` and `redirect` route actions, and error pages.
 * Error bodies are one short plain-text line; the details (upstream addresses, causes) go to the
 * error log, not to whoever sent the request.
 */
import type { RouteAction } from "../config/types.ts";
import { type Fields, has } from "./headers.ts";
import type { RequestHead } from "./parse_request.ts";
import { REASONS, serializeResponseHead } from "./serialize.ts";

const encoder = new TextEncoder();

export interface LocalResponse {
  status: number;
  fields: Fields;
  body: Uint8Array;
}

/** The bytes of a complete response; `keepAlive` decides the Connection field. */
export function renderResponse(res: LocalResponse, req: { method: string; version: string } | null, keepAlive: boolean): Uint8Array {
  // RFC 9110 §6.6.1: an origin server with a clock MUST send Date; for these answers ferry is it.
  const fields: Fields = [["Date", httpDate()], ...res.fields];
  // RFC 9110 §6.4.1: 1xx, 204 and 304 responses have no body and (for 204) no Content-Length.
  const bodyless = res.status === 204 || res.status === 304 || res.status < 200;
  if (!bodyless) fields.push(["Content-Length", String(res.body.length)]);
  if (!keepAlive) fields.push(["Connection", "close"]);
  else if (req?.version === "HTTP/1.0") fields.push(["Connection", "keep-alive"]);
  const head = serializeResponseHead("HTTP/1.1", res.status, REASONS[res.status] ?? "", fields);
  if (bodyless || req?.method === "HEAD" || res.body.length === 0) return head;
  const out = new Uint8Array(head.length + res.body.length);
  out.set(head);
  out.set(res.body, head.length);
  return out;
}

let dateSecond = 0;
let dateText = "";

/** The current time as an IMF-fixdate (RFC 9110 §5.6.7), formatted at most once a second. */
export function httpDate(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** A short plain-text error page: `502 Bad Gateway`. */
export function errorResponse(status: number): LocalResponse {
  return {
    status,
    fields: [["Content-Type", "text/plain; charset=utf-8"]],
    body: encoder.encode(`${status} ${REASONS[status] ?? "Error"}\n`),
  };
}

/** What a `respond` or `redirect` route answers to `req`. */
export function actionResponse(action: Exclude<RouteAction, { type: "proxy" }>, req: RequestHead): LocalResponse {
  if (action.type === "redirect") {
    const location = expandPlaceholders(action.to, req);
    return {
      status: action.status,
      fields: [["Location", location], ["Content-Type", "text/plain; charset=utf-8"]],
      body: encoder.encode(`${action.status} ${REASONS[action.status] ?? ""}: ${location}\n`),
    };
  }
  const fields: Fields = [...action.headers];
  const body = encoder.encode(action.body);
  if (body.length > 0 && !has(fields, "content-type")) fields.push(["Content-Type", "text/plain; charset=utf-8"]);
  return { status: action.status, fields, body };
}

/**
 * `{host}`, `{path}`, `{query}` (with its `?`, or empty) and `{uri}` (path and query) in a
 * redirect target, like nginx's `$host$request_uri`.
 */
export function expandPlaceholders(template: string, req: RequestHead): string {
  const q = req.forwardTarget.indexOf("?");
  const values: Record<string, string> = {
    host: req.authority,
    path: req.path,
    query: q < 0 ? "" : req.forwardTarget.slice(q),
    uri: req.forwardTarget,
  };
  return template.replace(/\{(host|path|query|uri)\}/g, (_, k: string) => values[k]);
}
