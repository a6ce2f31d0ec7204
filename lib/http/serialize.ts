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
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  300: "Multiple Choices",
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
  402: "Payment Required",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};
