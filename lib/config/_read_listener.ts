/** Reads the `listeners:` list: where traffic arrives. */
import { readRoute } from "./_read_route.ts";
import { hostKey } from "./parse_host_port.ts";
import { type BackendRef, readName, readTimeout } from "./_shared.ts";
import { quote, type YamlMap, type YamlValue } from "./_yaml_value.ts";
import {
  DEFAULTS,
  type HostPort,
  type ListenerConfig,
  type ListenerLimits,
  type ListenerMode,
  type ListenerTimeouts,
  type RouteConfig,
} from "./types.ts";

const LISTENER_KEYS = ["name", "listen", "mode", "limits", "timeouts", "backend", "routes"];
const LIMIT_KEYS = [
  "max_request_line",
  "max_head_size",
  "max_headers",
  "max_body_size",
  "max_keepalive_requests",
  "max_conns",
  "max_conns_per_ip",
];
const TIMEOUT_KEYS = ["header", "keepalive", "send", "body", "tunnel_idle", "tcp_idle"];
const MODES: readonly ListenerMode[] = ["http", "tcp"];

/** Which mode each setting means something in; setting it in the other mode is a mistake. */
const HTTP_ONLY_TIMEOUTS = ["header", "keepalive", "send", "body", "tunnel_idle"];
const HTTP_ONLY_LIMITS = ["max_request_line", "max_head_size", "max_headers", "max_body_size", "max_keepalive_requests"];
const TCP_ONLY_TIMEOUTS = ["tcp_idle"];

/** A request line or head smaller than this cannot hold an ordinary request. */
const MIN_HEAD_BYTES = 64;
/** Heads are buffered whole; beyond this a client could make ferry hold a lot per connection. */
const MAX_HEAD_BYTES = 1024 * 1024;
const HEAD_LIMITS = "64B to 1MiB";
/** Far more than one process serves; a bound only so that a typo of extra digits is caught. */
const MAX_LISTENER_CONNS = 1_000_000;

interface ReadListener {
  listener: ListenerConfig;
  /** Where each listener was declared, for errors that compare listeners. */
  self: YamlValue;
  name?: YamlValue;
  listen?: YamlValue;
}

export function readListeners(value: YamlValue, refs: BackendRef[]): ListenerConfig[] {
  const items = value.list();
  if (items === undefined) return [];
  if (items.length === 0) value.fail(`must list at least one listener, ${value.got()}`);

  const read = items.map((item, index) => readListener(item, index, refs));
  read.forEach((current, index) => {
    const earlier = read.slice(0, index);
    const { listener } = current;

    const sameName = earlier.findIndex((other) => other.listener.name === listener.name);
    if (sameName !== -1) {
      const got = `got ${quote(listener.name)}`;
      if (current.name !== undefined) {
        current.name.fail(`already used by listeners[${sameName}], ${got}`);
      } else {
        const { walk, offset, path } = current.self;
        walk.report(offset, `${path}.name`, `default name is taken by listeners[${sameName}], set a name, ${got}`);
      }
    }

    const clash = earlier.findIndex((other) => addressesClash(other.listener.listen, listener.listen));
    if (clash !== -1 && current.listen !== undefined) {
      const other = read[clash].listener.listen;
      const message = hostKey(other.hostname) === hostKey(listener.listen.hostname)
        ? `already used by listeners[${clash}]`
        : `clashes with listeners[${clash}] on ${formatHostPort(other)} (a wildcard address takes the port everywhere)`;
      current.listen.fail(`${message}, ${current.listen.got()}`);
    }
  });
  return read.map((entry) => entry.listener);
}

function readListener(value: YamlValue, index: number, refs: BackendRef[]): ReadListener {
  const map = value.map(LISTENER_KEYS);
  const nameValue = map?.get("name");
  const listenValue = map?.require("listen");
  const modeValue = map?.get("mode");
  const mode = modeValue?.oneOf(MODES) ?? DEFAULTS.listener.mode;

  const listener: ListenerConfig = {
    name: readName(nameValue) ?? `listener${index + 1}`,
    listen: listenValue?.address("listen") ?? { hostname: "0.0.0.0", port: 0 },
    mode,
    routes: [],
    limits: readLimits(map?.get("limits"), mode),
    timeouts: readTimeouts(map?.get("timeouts"), mode),
  };
  if (map !== undefined) {
    if (mode === "tcp") readTcpTarget(map, listener, refs);
    else listener.routes = readRoutes(map, refs);
  }
  return { listener, self: value, name: nameValue, listen: listenValue };
}

/** TCP mode has no requests to route: every connection goes to one backend. */
function readTcpTarget(map: YamlMap, listener: ListenerConfig, refs: BackendRef[]): void {
  map.get("routes")?.fail("not allowed with mode: tcp, use backend to name the target");
  const value = map.get("backend");
  if (value === undefined) {
    map.self.fail("needs a backend with mode: tcp");
    return;
  }
  listener.backend = value.text();
  if (listener.backend !== undefined) refs.push({ name: listener.backend, at: value, mode: "tcp" });
}

/**
 * HTTP mode: the listed routes, in config order, plus a final catch-all proxy route when
 * `backend:` is given as well.
 */
function readRoutes(map: YamlMap, refs: BackendRef[]): RouteConfig[] {
  const routesValue = map.get("routes");
  const backendValue = map.get("backend");
  if (routesValue === undefined && backendValue === undefined) {
    map.self.fail("needs routes or a backend");
    return [];
  }

  const routes: RouteConfig[] = [];
  const items = routesValue?.list() ?? [];
  if (routesValue?.isList() && items.length === 0 && backendValue === undefined) {
    routesValue.fail(`must list at least one route, ${routesValue.got()}`);
  }
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const route = readRoute(item, refs);
    if (route === undefined) return;
    // The router picks by host and path alone, so a second route with both equal is dead.
    const key = `${route.host ?? ""} ${route.path}`;
    const first = seen.get(key);
    if (first !== undefined) {
      item.fail(`never matches, routes[${first}] has the same host and path`);
    } else {
      seen.set(key, index);
    }
    routes.push(route);
  });

  if (backendValue !== undefined) {
    const catchAll = seen.get(` ${DEFAULTS.route.path}`);
    if (catchAll !== undefined) {
      backendValue.fail(`never used, routes[${catchAll}] already matches every request`);
    }
    const backend = backendValue.text();
    if (backend !== undefined) {
      refs.push({ name: backend, at: backendValue, mode: "http" });
      routes.push({ path: DEFAULTS.route.path, action: { type: "proxy", backend } });
    }
  }
  return routes;
}

function readLimits(value: YamlValue | undefined, mode: ListenerMode): ListenerLimits {
  const defaults = DEFAULTS.listener.limits;
  const map = value?.map(LIMIT_KEYS);
  if (mode === "tcp") for (const key of HTTP_ONLY_LIMITS) map?.get(key)?.fail("only applies to mode: http");
  const limits: ListenerLimits = {
    max_request_line: map?.get("max_request_line")?.size(MIN_HEAD_BYTES, MAX_HEAD_BYTES, HEAD_LIMITS) ??
      defaults.max_request_line,
    max_head_size: map?.get("max_head_size")?.size(MIN_HEAD_BYTES, MAX_HEAD_BYTES, HEAD_LIMITS) ??
      defaults.max_head_size,
    max_headers: map?.get("max_headers")?.int(1, 10_000) ?? defaults.max_headers,
    max_body_size: map?.get("max_body_size")?.size(0, 1024 ** 4, "0B (no limit) to 1024GiB") ?? defaults.max_body_size,
    max_keepalive_requests: map?.get("max_keepalive_requests")?.int(1, 1_000_000) ?? defaults.max_keepalive_requests,
    max_conns: map?.get("max_conns")?.int(1, MAX_LISTENER_CONNS) ?? defaults.max_conns,
    max_conns_per_ip: map?.get("max_conns_per_ip")?.int(0, MAX_LISTENER_CONNS) ?? defaults.max_conns_per_ip,
  };
  // The head includes the request line, so a smaller head limit would quietly lower the line limit.
  if (limits.max_head_size < limits.max_request_line) {
    const head = map?.get("max_head_size");
    const line = map?.get("max_request_line");
    if (head !== undefined) {
      head.fail(`must be at least max_request_line (${limits.max_request_line} bytes), ${head.got()}`);
    } else {
      line?.fail(`must be at most max_head_size (${limits.max_head_size} bytes), ${line.got()}`);
    }
  }
  return limits;
}

function readTimeouts(value: YamlValue | undefined, mode: ListenerMode): ListenerTimeouts {
  const defaults = DEFAULTS.listener.timeouts;
  const map = value?.map(TIMEOUT_KEYS);
  const other = mode === "http" ? TCP_ONLY_TIMEOUTS : HTTP_ONLY_TIMEOUTS;
  for (const key of other) {
    map?.get(key)?.fail(`only applies to mode: ${mode === "http" ? "tcp" : "http"}`);
  }
  return {
    header: readTimeout(map?.get("header")) ?? defaults.header,
    keepalive: readTimeout(map?.get("keepalive")) ?? defaults.keepalive,
    send: readTimeout(map?.get("send")) ?? defaults.send,
    body: readTimeout(map?.get("body")) ?? defaults.body,
    tunnel_idle: readTimeout(map?.get("tunnel_idle")) ?? defaults.tunnel_idle,
    tcp_idle: readTimeout(map?.get("tcp_idle")) ?? defaults.tcp_idle,
  };
}

/**
 * Whether two listen addresses would fight over one port. A wildcard address takes the port
 * on every interface: `0.0.0.0` for IPv4 (and names, which usually resolve to IPv4), `::`
 * for both families, since Linux binds it dual-stack by default. Port 0 never clashes.
 */
function addressesClash(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const ha = hostKey(a.hostname);
  const hb = hostKey(b.hostname);
  if (ha === hb || ha === "::" || hb === "::") return true;
  return (ha === "0.0.0.0" && !hb.includes(":")) || (hb === "0.0.0.0" && !ha.includes(":"));
}

function formatHostPort({ hostname, port }: HostPort): string {
  return hostname.includes(":") ? `"[${hostname}]:${port}"` : `"${hostname}:${port}"`;
}
