/**
 * The validated, normalised configuration that the rest of ferry consumes.
 *
 * `load_config.ts` turns YAML into these objects; nothing downstream ever sees raw YAML.
 * Every field documents its default and unit: this file is the reference the README's
 * config section is written from. Durations are milliseconds, sizes are bytes.
 */

/** A `host:port` pair to listen on or connect to. */
export interface HostPort {
  /** IPv4/IPv6 literal or name, without brackets. `":8080"` in YAML means `0.0.0.0`. */
  hostname: string;
  /** TCP port, 0..65535 (0 = any free port, printed in the `listening on` line). */
  port: number;
}

export interface Config {
  /** Where traffic arrives. At least one. */
  listeners: ListenerConfig[];
  /** Where traffic goes, by name. May be empty when every route responds or redirects. */
  backends: Map<string, BackendConfig>;
  log: LogConfig;
  /** The file the config came from, or `"<command line>"` for quick mode. */
  source: string;
}

export interface LogConfig {
  /** Access log target: `"stdout"` (default), `"stderr"`, `"off"`, or a file path (appended; must be writable at start-up). */
  access: string;
}

export type ListenerMode = "http" | "tcp";

export interface ListenerConfig {
  /** Unique name, used in logs. Default: `listener<N>` (N = 1-based index). */
  name: string;
  /** Required. `":8080"`, `"127.0.0.1:8080"`, `"[::1]:8080"`. */
  listen: HostPort;
  /** `http` (default) or `tcp`. */
  mode: ListenerMode;
  /**
   * HTTP mode: the routes, tried most specific first (exact host, then wildcard host, then
   * any host; within those, longest path prefix). A listener with `backend:` and no
   * `routes:` gets one catch-all proxy route. Empty in TCP mode.
   */
  routes: RouteConfig[];
  /** TCP mode: the backend every connection is tunnelled to (required in TCP mode). */
  backend?: string;
  limits: ListenerLimits;
  timeouts: ListenerTimeouts;
}

export interface ListenerLimits {
  /** Longest request line accepted; longer → 414. Default 8 KiB (8192). */
  max_request_line: number;
  /** Largest request head (request line + all fields) accepted; larger → 431. Default 32 KiB. */
  max_head_size: number;
  /** Most header fields accepted in one request; more → 431. Default 100. */
  max_headers: number;
}

export interface ListenerTimeouts {
  /**
   * Time a new connection has, counted from accept, to send its complete first request head;
   * then 408 (or a plain close when nothing arrived). Default 10s.
   */
  header: number;
  /**
   * Time an idle keep-alive connection has to send its complete next request head; then it is
   * closed (408 when part of a head arrived). Default 60s.
   */
  keepalive: number;
  /**
   * How long a client may take to accept the next piece of a response (one write); a client
   * that reads nothing for this long is disconnected, like nginx's `send_timeout`. Default 60s.
   */
  send: number;
  /** TCP mode: a tunnel with no bytes in either direction for this long is closed. Default 1h. */
  tcp_idle: number;
}

export type RouteAction =
  | { type: "proxy"; backend: string }
  | { type: "respond"; status: number; headers: [string, string][]; body: string }
  | { type: "redirect"; to: string; status: number };

export interface RouteConfig {
  /**
   * Host to match, lowercase, without port: exact (`"api.example.com"`) or wildcard
   * (`"*.example.com"`, one or more labels). Absent = any host.
   */
  host?: string;
  /** Path prefix to match, starting with `/`. Default `/`. Longest prefix wins. */
  path: string;
  action: RouteAction;
}

export type BalanceName = "round_robin";

export interface ServerConfig {
  /** As written, `host:port`; used in logs and error messages. */
  address: string;
  hostname: string;
  port: number;
  /** Relative share of requests, integer 1..1000. Default 1. */
  weight: number;
}

export interface BackendConfig {
  name: string;
  /** Selection policy, one per file in `lib/balance/`. Default `round_robin`. */
  balance: BalanceName;
  /** At least one. */
  servers: ServerConfig[];
  timeouts: BackendTimeouts;
  /** Idle keep-alive connections kept per server for reuse. Default 128; 0 disables pooling. */
  max_idle_conns: number;
}

export interface BackendTimeouts {
  /** Time to establish the TCP connection to a server; then try the next one. Default 5s. */
  connect: number;
  /**
   * How long to wait for the server: for the response head after the request was sent (→ 504),
   * then between two reads of the response body (the connection is cut). Like nginx's
   * `proxy_read_timeout`, so a long download that keeps moving is never cut. Default 60s.
   */
  response: number;
  /** How long a pooled idle upstream connection is kept before it is closed. Default 30s. */
  idle: number;
}

export const DEFAULTS = {
  listener: {
    mode: "http" as ListenerMode,
    limits: { max_request_line: 8 * 1024, max_head_size: 32 * 1024, max_headers: 100 },
    timeouts: { header: 10_000, keepalive: 60_000, send: 60_000, tcp_idle: 3_600_000 },
  },
  backend: {
    balance: "round_robin" as BalanceName,
    timeouts: { connect: 5_000, response: 60_000, idle: 30_000 },
    max_idle_conns: 128,
  },
  server: { weight: 1 },
  route: { path: "/" },
  respond: { status: 200, body: "" },
  redirect: { status: 302 },
  log: { access: "stdout" },
} as const;
