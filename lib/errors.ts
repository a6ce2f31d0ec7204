/**
 * Every failure ferry reports carries a kind (what went wrong) and a side (whose fault it is).
 * `statusFor` is the one place that maps a kind to the HTTP status a client sees.
 */

export type Side = "client" | "upstream" | "internal";

export type ErrorKind =
  /** The request bytes break RFC 9112/9110 framing or syntax. */
  | "bad_request"
  /** The request line is longer than `limits.max_request_line`. */
  | "uri_too_long"
  /** The request head is larger than `limits.max_head_size` or has too many fields. */
  | "head_too_large"
  /** The client did not send a complete head within `timeouts.header`, or stalled a body for `timeouts.body`. */
  | "client_timeout"
  /** The request body is larger than `limits.max_body_size`. */
  | "body_too_large"
  /** The client's address already has `limits.max_conns_per_ip` connections open. */
  | "too_many_conns_from_ip"
  /** The listener already has `limits.max_conns` connections open, or ferry is near its open-file limit. */
  | "listener_full"
  /** The client went away (EOF or reset) before the exchange finished. */
  | "client_closed"
  /** The request uses a method or coding ferry does not proxy (CONNECT, unknown Transfer-Encoding). */
  | "not_implemented"
  /** The request's HTTP version is not 1.0 or 1.1. */
  | "unsupported_version"
  /** No route matched the request's host and path. */
  | "no_route"
  /** Every server of the backend refused or timed out the connection. */
  | "connect_failed"
  /** No server of the backend is available (all marked down). */
  | "no_server"
  /** Every available server stayed at its `max_conns` for the backend's whole `queue_timeout`. */
  | "queue_timeout"
  /** The server did not answer within `timeouts.response`. */
  | "upstream_timeout"
  /** The server closed or reset the connection before a complete response. */
  | "upstream_closed"
  /** The server's response breaks RFC 9112 framing or syntax. */
  | "upstream_bad_response"
  /** A bug in ferry. */
  | "internal";

const SIDE: Record<ErrorKind, Side> = {
  bad_request: "client",
  uri_too_long: "client",
  head_too_large: "client",
  client_timeout: "client",
  body_too_large: "client",
  too_many_conns_from_ip: "client",
  listener_full: "internal",
  client_closed: "client",
  not_implemented: "client",
  unsupported_version: "client",
  no_route: "client",
  connect_failed: "upstream",
  no_server: "upstream",
  queue_timeout: "upstream",
  upstream_timeout: "upstream",
  upstream_closed: "upstream",
  upstream_bad_response: "upstream",
  internal: "internal",
};

const STATUS: Record<ErrorKind, number> = {
  bad_request: 400,
  uri_too_long: 414,
  head_too_large: 431,
  client_timeout: 408,
  body_too_large: 413,
  // RFC 6585 §4; nginx's limit_conn answers 503 by default, but 429 tells the client it is its own share that ran out.
  too_many_conns_from_ip: 429,
  listener_full: 503,
  // Nothing can be sent to a client that is gone; 499 is what nginx logs for it.
  client_closed: 499,
  not_implemented: 501,
  unsupported_version: 505,
  no_route: 404,
  connect_failed: 502,
  no_server: 503,
  queue_timeout: 503,
  upstream_timeout: 504,
  upstream_closed: 502,
  upstream_bad_response: 502,
  internal: 500,
};

export class ProxyError extends Error {
  readonly kind: ErrorKind;
  readonly side: Side;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProxyError";
    this.kind = kind;
    this.side = SIDE[kind];
  }

  get status(): number {
    return statusFor(this.kind);
  }
}

/** The HTTP status that answers an error of this kind. */
export function statusFor(kind: ErrorKind): number {
  return STATUS[kind];
}

/** Wraps anything thrown into a ProxyError (unknown throws are ferry's own bugs). */
export function asProxyError(e: unknown): ProxyError {
  if (e instanceof ProxyError) return e;
  return new ProxyError("internal", `internal error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
