/** Reads one entry of a listener's `routes:` list. */
import { isScalar } from "yaml";
import { HOSTNAME, IPV6, SPACE_OR_CONTROL, TOKEN } from "./_patterns.ts";
import type { BackendRef } from "./_shared.ts";
import { quote, type YamlMap, type YamlValue } from "./_yaml_value.ts";
import { DEFAULTS, type RouteAction, type RouteConfig } from "./types.ts";

const ROUTE_KEYS = ["host", "path", "backend", "respond", "redirect"];
const ACTION_KEYS = ["backend", "respond", "redirect"];
const RESPOND_KEYS = ["status", "headers", "body"];
const REDIRECT_KEYS = ["to", "status"];
const REDIRECT_STATUSES = [301, 302, 303, 307, 308];

/** Statuses whose responses never carry content (RFC 9110 §15.3.6, §15.4.5, RFC 9112 §6.3). */
const NO_BODY_STATUSES = new Set([204, 205, 304]);

/** Framing is ferry's job: a configured length that disagrees with the body breaks the connection. */
const FRAMING_HEADERS = new Set(["content-length", "transfer-encoding"]);

/** Hop-by-hop fields (RFC 9110 §7.6.1) describe one connection, which ferry manages. */
const HOP_BY_HOP_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
]);

export function readRoute(value: YamlValue, refs: BackendRef[]): RouteConfig | undefined {
  const map = value.map(ROUTE_KEYS);
  if (map === undefined) return undefined;
  const hostValue = map.get("host");
  const host = hostValue === undefined ? undefined : readHost(hostValue);
  const pathValue = map.get("path");
  const path = pathValue === undefined ? DEFAULTS.route.path : readPath(pathValue);
  const action = readAction(map, refs);
  // A route with a bad host or path is dropped, not widened to "any", so that the
  // duplicate-route check does not pile a second, misleading error on the first.
  if (action === undefined || path === undefined || (hostValue !== undefined && host === undefined)) {
    return undefined;
  }
  return host === undefined ? { path, action } : { host, path, action };
}

function readAction(route: YamlMap, refs: BackendRef[]): RouteAction | undefined {
  const present = ACTION_KEYS.filter((key) => route.has(key));
  if (present.length === 0) {
    return route.self.fail(`needs one of: ${ACTION_KEYS.join(", ")}`);
  }
  if (present.length > 1) {
    const self = route.self;
    self.walk.report(
      route.keyOffset(present[1]),
      self.path,
      `must have only one of ${ACTION_KEYS.join(", ")}, got ${present.join(" and ")}`,
    );
  }
  // Every present action is still read, so its own mistakes are reported in this run too.
  const actions = present.map((key) => {
    const value = route.get(key)!;
    if (key === "backend") return readProxy(value, refs);
    if (key === "respond") return readRespond(value);
    return readRedirect(value);
  });
  return present.length === 1 ? actions[0] : undefined;
}

function readProxy(value: YamlValue, refs: BackendRef[]): RouteAction | undefined {
  const backend = value.text();
  if (backend === undefined) return undefined;
  refs.push({ name: backend, at: value, mode: "http" });
  return { type: "proxy", backend };
}

/** `"*.example.com"`, `"api.example.com"` or `"[::1]"`, lowercased to match case-insensitively. */
function readHost(value: YamlValue): string | undefined {
  const text = value.text();
  if (text === undefined) return undefined;
  const host = text.toLowerCase();
  const got = `got ${quote(text)}`;
  if (host.startsWith("[")) {
    if (host.endsWith("]") && IPV6.test(host.slice(1, -1))) return host;
    if (/\]:\d*$/.test(host)) return value.fail(`must not include a port (routes match any port), ${got}`);
    return value.fail(`has an invalid IPv6 address, ${got}`);
  }
  if (/:\d*$/.test(host) && !host.slice(0, host.lastIndexOf(":")).includes(":")) {
    return value.fail(`must not include a port (routes match any port), ${got}`);
  }
  if (host === "*") return value.fail(`leave host out to match any host, ${got}`);
  const name = host.startsWith("*.") ? host.slice(2) : host;
  if (name.includes("*")) {
    return value.fail(`may only have "*" as its whole first label, like "*.example.com", ${got}`);
  }
  if (!HOSTNAME.test(name)) {
    return value.fail(`must be a host name like "api.example.com" or "*.example.com", ${got}`);
  }
  return host;
}

function readPath(value: YamlValue): string | undefined {
  const path = value.text();
  if (path === undefined) return undefined;
  const got = `got ${quote(path)}`;
  if (!path.startsWith("/")) return value.fail(`must start with "/", ${got}`);
  if (SPACE_OR_CONTROL.test(path)) {
    return value.fail(`must not contain spaces or control characters, ${got}`);
  }
  if (/[?#]/.test(path)) {
    return value.fail(`must not contain "?" or "#", routes match the path only, ${got}`);
  }
  return path;
}

/** `respond: "ok\n"`, `respond: 404` or `respond: { status, headers, body }`. */
function readRespond(value: YamlValue): RouteAction | undefined {
  const defaults = DEFAULTS.respond;
  // An unquoted number is a status, as nginx's `return 404` and Caddy's `respond 404` read:
  // taking it for a 200 with the body "404" would quietly serve a page where a refusal was meant.
  if (isScalar(value.node) && typeof value.node.value === "number") {
    const status = value.int(200, 599);
    return status === undefined ? undefined : { type: "respond", status, headers: [], body: "" };
  }
  if (value.isText()) {
    return { type: "respond", status: defaults.status, headers: [], body: value.text()! };
  }
  if (!value.isMap()) {
    return value.fail(`must be a body string or a mapping with status, headers and body, ${value.got()}`);
  }
  const map = value.map(RESPOND_KEYS)!;
  // 1xx are interim responses: they cannot end an exchange, so they cannot be a reply.
  const status = map.get("status")?.int(200, 599) ?? defaults.status;
  const headersValue = map.get("headers");
  const headers = headersValue === undefined ? [] : readHeaders(headersValue);
  const bodyValue = map.get("body");
  const body = bodyValue?.text() ?? defaults.body;
  if (bodyValue !== undefined && body !== "" && NO_BODY_STATUSES.has(status)) {
    bodyValue.fail(`must be empty with status ${status}, ${bodyValue.got()}`);
  }
  return { type: "respond", status, headers, body };
}

/** `Name: value` or `Name: [value, value]` for a field sent more than once. */
function readHeaders(value: YamlValue): [string, string][] {
  const map = value.map(null);
  if (map === undefined) return [];
  const headers: [string, string][] = [];
  for (const [name, fieldValue] of map.entries()) {
    const lower = name.toLowerCase();
    let problem: string | undefined;
    if (!TOKEN.test(name)) {
      problem = `must be a valid header name (letters, digits and !#$%&'*+-.^_\`|~), got ${quote(name)}`;
    } else if (FRAMING_HEADERS.has(lower)) {
      problem = "cannot be set, ferry frames the body itself";
    } else if (HOP_BY_HOP_HEADERS.has(lower)) {
      problem = "cannot be set, it is a hop-by-hop header";
    }
    if (problem !== undefined) {
      fieldValue.walk.report(map.keyOffset(name), fieldValue.path, problem);
    }

    const items = fieldValue.isList() ? fieldValue.list()! : [fieldValue];
    if (items.length === 0) fieldValue.fail(`must have at least one value, ${fieldValue.got()}`);
    for (const item of items) {
      const text = item.text();
      if (text === undefined) continue;
      // CR or LF would end the field early and let the value inject fields of its own.
      if (/[\r\n\0]/.test(text)) {
        item.fail(`must not contain CR, LF or NUL, got ${quote(text)}`);
        continue;
      }
      headers.push([name, text]);
    }
  }
  return headers;
}

/** `redirect: "https://example.com"` or `redirect: { to, status }`. */
function readRedirect(value: YamlValue): RouteAction | undefined {
  const defaults = DEFAULTS.redirect;
  let toValue: YamlValue | undefined = value;
  let status: number = defaults.status;
  if (!value.isMap() && !value.isText()) {
    return value.fail(`must be a URL or a mapping with to and status, ${value.got()}`);
  }
  if (value.isMap()) {
    const map = value.map(REDIRECT_KEYS)!;
    status = map.get("status")?.intOneOf(REDIRECT_STATUSES) ?? status;
    toValue = map.require("to");
  }
  const to = toValue === undefined ? undefined : readLocation(toValue);
  if (to === undefined) return undefined;
  return { type: "redirect", to, status };
}

/** The Location value: an absolute URL or an absolute path, nothing that could break the head. */
function readLocation(value: YamlValue): string | undefined {
  const to = value.text();
  if (to === undefined) return undefined;
  const got = `got ${quote(to)}`;
  if (SPACE_OR_CONTROL.test(to)) {
    return value.fail(`must not contain spaces or control characters, ${got}`);
  }
  if (to.startsWith("/")) return to;
  if (/^[a-z][a-z0-9+.-]*:/i.test(to) && URL.canParse(to)) return to;
  return value.fail(`must be an absolute URL or a path starting with "/", ${got}`);
}
