/** Message heads back to bytes (RFC 9112 §3, §4, §5). Field names keep the case they came with. */
import type { Fields } from "./headers.ts";
import { latin1Bytes } from "./syntax.ts";

export function serializeRequestHead(method: string, target: string, fields: Fields): Uint8Array {
  let s = `${method} ${target} HTTP/1.1\r\n`;
  for (const [n, v] of fields) s += `${n}: ${v}\r\n`;
  return latin1Bytes(s + "\r\n");
}

export function serializeResponseHead(version: string, status: number, reason: string, fields: Fields): Uint8Array {
  let s = `${version} ${status} ${reason}\r\n`;
  for (const [n, v] of fields) s += `${n}: ${v}\r\n`;
  return latin1Bytes(s + "\r\n");
}

/** The standard reason phrase for the statuses ferry generates itself. */
export const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};
