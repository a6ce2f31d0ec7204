/**
 * The documented defaults, written out once as literals (not taken from DEFAULTS), so that a
 * changed default shows up as a failing test rather than passing along silently.
 */
import type { BackendConfig, ListenerConfig } from "../../lib/config/types.ts";

export const DEFAULT_LISTENER: Omit<ListenerConfig, "name" | "listen" | "routes"> = {
  mode: "http",
  limits: {
    max_request_line: 8192,
    max_head_size: 32768,
    max_headers: 100,
    max_body_size: 104_857_600,
    max_keepalive_requests: 1000,
    max_conns: 10_000,
    max_conns_per_ip: 1000,
  },
  timeouts: { header: 10_000, keepalive: 60_000, send: 60_000, body: 60_000, tunnel_idle: 3_600_000, tcp_idle: 3_600_000 },
};

export const DEFAULT_BACKEND: Omit<BackendConfig, "name" | "servers"> = {
  balance: "round_robin",
  timeouts: { connect: 5_000, response: 60_000, idle: 30_000 },
  limits: { max_head_size: 65_536, max_headers: 200 },
  max_idle_conns: 128,
  retries: "auto",
  retry_timeout: 30_000,
  retry_body_limit: 65_536,
  max_conns: 0,
  queue_timeout: 10_000,
  slow_start: 0,
  resolve_interval: 30_000,
  passive: { max_fails: 1, fail_timeout: 10_000, fail_status: [] },
};
