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
  /**
   * DNS server asked for the addresses of servers given as names, `ip:port` (like nginx's
   * `resolver`). Default: the system's resolver (getaddrinfo: /etc/hosts, then DNS), which
   * gives no TTL.
   */
  resolver?: HostPort;
  /**
   * How long a stop (SIGTERM, SIGINT) waits for requests and TCP tunnels in flight before it
   * closes their connections, ms. Default 10s (nginx's `worker_shutdown_timeout`, HAProxy's
   * `hard-stop-after`). The value of the running config applies, reloads included.
   */
  shutdown_timeout: number;
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
  /** HTTP: longest request line accepted; longer → 414. Default 8 KiB (8192). */
  max_request_line: number;
  /** HTTP: largest request head (request line + all fields) accepted; larger → 431. Default 32 KiB. */
  max_head_size: number;
  /** HTTP: most header fields accepted in one request; more → 431. Default 100. */
  max_headers: number;
  /**
   * HTTP: largest request body, in bytes of payload (a chunked body's framing does not count);
   * larger → 413. A Content-Length above it is refused before anything is sent upstream; a
   * chunked body is cut when it crosses it. Default 100 MiB; 0 = no limit.
   */
  max_body_size: number;
  /** HTTP: most requests on one keep-alive connection; the last one is answered with `Connection: close`. Default 1000 (nginx's keepalive_requests). */
  max_keepalive_requests: number;
  /**
   * Most client connections open on this listener at once; more are refused (HTTP: a 503
   * page, TCP: closed). Default 10000. ferry also keeps every listener together below the
   * process's open-file limit, so that accept never runs out of file descriptors.
   */
  max_conns: number;
  /** Most client connections from one IP address at once; more are refused (HTTP: a 429 page, TCP: closed). Default 1000; 0 = no limit. */
  max_conns_per_ip: number;
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
  /**
   * HTTP: how long ferry waits for the next piece of a request body (nginx's
   * `client_body_timeout`): a client that sends nothing for this long in the middle of a body
   * gets 408 (when no response has started) and the connection is closed. Default 60s.
   */
  body: number;
  /**
   * HTTP: once a request was upgraded (a 101 response, such as a WebSocket), how long the
   * connection may go with no bytes in either direction before ferry closes both sides
   * (HAProxy's `timeout tunnel`). Default 1h.
   */
  tunnel_idle: number;
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

/** One name per policy file in `lib/balance/`. */
export type BalanceName = "round_robin" | "least_conn" | "random_two" | "ip_hash" | "hash" | "first";

/** Where `balance: hash` takes its key from (`hash_key:`). */
export type HashKey =
  | { from: "header"; name: string }
  | { from: "cookie"; name: string }
  | { from: "query"; name: string }
  | { from: "path" };

export interface ServerConfig {
  /** As written, `host:port`; used in logs and error messages. */
  address: string;
  /** IP literal or DNS name (a name becomes one server per address it resolves to). */
  hostname: string;
  port: number;
  /** Relative share of requests, integer 1..1000. Default 1. */
  weight: number;
  /** Most requests (HTTP) or tunnels (TCP) in flight to this server at once; 0 = no limit. Default: the backend's `max_conns`. */
  max_conns: number;
}

export interface BackendConfig {
  name: string;
  /** Selection policy, one per file in `lib/balance/`. Default `round_robin`. */
  balance: BalanceName;
  /** Required with `balance: hash`, not allowed otherwise: `header:NAME`, `cookie:NAME`, `path` or `query:NAME`. */
  hash_key?: HashKey;
  /**
   * `sticky: cookie` (or `{ cookie: NAME }`): responses carry a cookie naming the chosen server
   * (an opaque id, never its address), and later requests with it go to that server while it is
   * available. Default: off.
   */
  sticky?: { cookie: string };
  /** At least one. */
  servers: ServerConfig[];
  timeouts: BackendTimeouts;
  limits: BackendLimits;
  /** Idle keep-alive connections kept per server for reuse. Default 128; 0 disables pooling. */
  max_idle_conns: number;
  /**
   * Further attempts on other servers after a failed one. Default: number of servers - 1
   * (each server once). 0 disables retries.
   */
  retries: number | "auto";
  /** No new attempt starts once this long has passed since the first one. Default 30s. */
  retry_timeout: number;
  /** Request bodies up to this size are kept in memory so that they can be retried; larger ones are not retried. Default 64 KiB; 0 = never retry a request with a body. */
  retry_body_limit: number;
  /** Default per-server `max_conns`. Default 0 (no limit). */
  max_conns: number;
  /** How long a request waits for a free server when every server is at `max_conns`; then 503. Default 10s. */
  queue_timeout: number;
  /** A server that comes (back) up receives a share ramping from 0 to its weight over this time. Default 0 (off). */
  slow_start: number;
  /** Servers given as DNS names are re-resolved this often (sooner when the answer's TTL is shorter, never sooner than 1s). Default 30s. */
  resolve_interval: number;
  /** Active health checks; absent = none (servers count as up). */
  health?: HealthConfig;
  passive: PassiveHealthConfig;
}

export interface HealthConfig {
  /** `http` (default: a GET, the status must match `expect_status`) or `tcp` (the connect must succeed). */
  type: "http" | "tcp";
  /** HTTP checks: the path (and query) requested. Default `/`. */
  path: string;
  /** HTTP checks: the Host header sent. Default: the server's address. */
  host?: string;
  /** HTTP checks: statuses that pass, as inclusive ranges. Default 200-399. */
  expect_status: [number, number][];
  /** Time from the end of one check to the start of the next, per server. Default 5s. */
  interval: number;
  /** A check that has not finished (connect + response head) within this time fails. Default 2s. */
  timeout: number;
  /** Consecutive passes that bring a down server up. Default 2. */
  rise: number;
  /** Consecutive failures that take an up server down. Default 3. */
  fall: number;
}

export interface PassiveHealthConfig {
  /**
   * Failures on real traffic (connect refused or timed out, reset or closed before a response,
   * response timeout, a status in `fail_status`) within `fail_timeout` that mark a server down
   * for `fail_timeout`. Default 1 (nginx's max_fails); 0 disables passive health.
   */
  max_fails: number;
  /** The window failures are counted in, and how long a server then stays down. Default 10s. */
  fail_timeout: number;
  /** Response statuses counted as failures. Default none. */
  fail_status: number[];
}

export interface BackendLimits {
  /** Largest response head (status line + fields) accepted from a server; larger → 502. Default 64 KiB. */
  max_head_size: number;
  /** Most header fields accepted in one response head; more → 502. Default 200. */
  max_headers: number;
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
    limits: {
      max_request_line: 8 * 1024,
      max_head_size: 32 * 1024,
      max_headers: 100,
      max_body_size: 100 * 1024 * 1024,
      max_keepalive_requests: 1000,
      max_conns: 10_000,
      max_conns_per_ip: 1000,
    },
    timeouts: { header: 10_000, keepalive: 60_000, send: 60_000, body: 60_000, tunnel_idle: 3_600_000, tcp_idle: 3_600_000 },
  },
  backend: {
    balance: "round_robin" as BalanceName,
    timeouts: { connect: 5_000, response: 60_000, idle: 30_000 },
    limits: { max_head_size: 64 * 1024, max_headers: 200 },
    max_idle_conns: 128,
    retries: "auto" as const,
    retry_timeout: 30_000,
    retry_body_limit: 64 * 1024,
    max_conns: 0,
    queue_timeout: 10_000,
    slow_start: 0,
    resolve_interval: 30_000,
    sticky_cookie: "ferry_server",
  },
  health: { type: "http" as const, path: "/", expect_status: [[200, 399]] as [number, number][], interval: 5_000, timeout: 2_000, rise: 2, fall: 3 },
  passive: { max_fails: 1, fail_timeout: 10_000, fail_status: [] as number[] },
  server: { weight: 1 },
  route: { path: "/" },
  respond: { status: 200, body: "" },
  redirect: { status: 302 },
  log: { access: "stdout" },
  shutdown_timeout: 10_000,
} as const;

/** A backend with every setting at its default: quick mode's, and a base for tests. */
export function defaultBackend(name: string, servers: ServerConfig[]): BackendConfig {
  const d = DEFAULTS.backend;
  return {
    name,
    balance: d.balance,
    servers,
    timeouts: { ...d.timeouts },
    limits: { ...d.limits },
    max_idle_conns: d.max_idle_conns,
    retries: d.retries,
    retry_timeout: d.retry_timeout,
    retry_body_limit: d.retry_body_limit,
    max_conns: d.max_conns,
    queue_timeout: d.queue_timeout,
    slow_start: d.slow_start,
    resolve_interval: d.resolve_interval,
    passive: { ...DEFAULTS.passive, fail_status: [] },
  };
}
