/**
 * The request head parser (RFC 9112 §3, §5, §6): request line, fields, and everything derived
 * from them that the proxy pipeline needs. Anything ambiguous is refused with a ProxyError whose
 * kind maps to 400/414/431/501/505, because a proxy that reads a message differently from the
 * backend behind it lets requests be smuggled past it.
 */
import { ProxyError } from "../errors.ts";
import { contentLength, type Framing, isChunked, NO_BODY } from "./framing.ts";
import { type Fields, getAll, hasToken } from "./headers.ts";
import { parseFields, quote, splitLines } from "./parse_fields.ts";
import { isToken, isVisibleAscii, latin1 } from "./syntax.ts";

export interface RequestLimits {
  max_request_line: number;
  max_headers: number;
}

export interface RequestHead {
  method: string;
  /** The request-target exactly as received. */
  target: string;
  /** What is sent upstream: origin-form (absolute-form is converted, path and query untouched). */
  forwardTarget: string;
  /** The path part of the target, for routing (query excluded, not decoded). */
  path: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  fields: Fields;
  /** The authority the client asked for (Host, or the absolute-form target's), as sent. */
  authority: string;
  /** `authority` without port, lowercased, for routing. */
  host: string;
  body: Framing;
  /** The client wants the connection kept open after this exchange (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** The protocol asked for by `Connection: upgrade` + `Upgrade` (RFC 9110 §7.8), else null. */
  upgrade: string | null;
  /** `Expect: 100-continue` (RFC 9110 §10.1.1). */
  expectContinue: boolean;
}

const bad = (message: string) => new ProxyError("bad_request", message);

export function parseRequestHead(head: Uint8Array, limits: RequestLimits): RequestHead {
  const lines = splitLines(latin1(head));
  if (!lines) throw bad("bare CR or LF in request head");
  const requestLine = lines[0];
  if (requestLine.length > limits.max_request_line) {
    throw new ProxyError("uri_too_long", `request line longer than ${limits.max_request_line} bytes`);
  }
  // RFC 9112 §3: method SP request-target SP HTTP-version, exactly one space each.
  const parts = requestLine.split(" ");
  if (parts.length !== 3) throw bad(`malformed request line ${quote(requestLine)}`);
  const [method, target, versionText] = parts;
  if (!isToken(method)) throw bad(`invalid method ${quote(method)}`);
  // RFC 9112 §3.2: the request-target has no fragment; a "#" here is a broken client or an
  // attempt to make ferry and the backend disagree on the path.
  if (!isVisibleAscii(target) || target.includes("#")) throw bad(`invalid request target ${quote(target)}`);
  const version = parseVersion(versionText);

  const parsed = parseFields(lines.slice(1), limits.max_headers);
  if (!parsed.ok) throw parsed.tooMany ? new ProxyError("head_too_large", parsed.message) : bad(parsed.message);
  const fields = parsed.fields;

  if (method === "CONNECT") throw new ProxyError("not_implemented", "CONNECT is not supported");
  const form = parseTarget(method, target);
  // RFC 3986 §3.3: a path is pchars and "/"; `\ " < > ^ ` { | }` are none of them, and browsers
  // percent-encode them in paths. Refused there (not in the query, where clients do send
  // `{ } | ^` raw), since backends read them differently: some take "\" for "/", which would
  // let `/x\..\admin` reach /admin past a route that ferry matched as something else.
  if (/["<>\\^`{|}]/.test(form.path)) throw bad(`invalid character in request path ${quote(form.path)}`);

  // RFC 9112 §3.2: a 1.1 request without Host, or with more than one, gets 400.
  const hosts = getAll(fields, "host");
  if (hosts.length > 1) throw bad(`more than one Host field: ${quote(hosts.join(", "))}`);
  if (version === "HTTP/1.1" && hosts.length === 0) throw bad("missing Host field in HTTP/1.1 request");
  const hostField = hosts[0];
  if (hostField !== undefined && !isValidAuthority(hostField, true)) throw bad(`invalid Host ${quote(hostField)}`);
  // RFC 9112 §3.2.2: with an absolute-form target the authority in it wins; one that
  // disagrees with Host is refused, since the backend might route by either.
  if (form.authority !== undefined && hostField !== undefined && !sameAuthority(hostField, form.authority, form.scheme!)) {
    throw bad(`Host ${quote(hostField)} does not match the request target's authority ${quote(form.authority)}`);
  }
  const authority = form.authority ?? hostField ?? "";

  return {
    method,
    target,
    forwardTarget: form.forwardTarget,
    path: form.path,
    version,
    fields,
    authority,
    host: hostOf(authority),
    body: requestFraming(fields, version),
    keepAlive: version === "HTTP/1.1"
      ? !hasToken(fields, "connection", "close")
      : hasToken(fields, "connection", "keep-alive") && !hasToken(fields, "connection", "close"),
    // RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored.
    upgrade: version === "HTTP/1.1" && hasToken(fields, "connection", "upgrade")
      ? upgradeProtocols(getAll(fields, "upgrade"))
      : null,
    expectContinue: version === "HTTP/1.1" && getAll(fields, "expect").some((v) => v.trim().toLowerCase() === "100-continue"),
  };
}

function parseVersion(v: string): "HTTP/1.0" | "HTTP/1.1" {
  if (v === "HTTP/1.1" || v === "HTTP/1.0") return v;
  if (/^HTTP\/[0-9]\.[0-9]$/.test(v)) throw new ProxyError("unsupported_version", `unsupported HTTP version ${quote(v)}`);
  throw bad(`malformed HTTP version ${quote(v)}`);
}

/** RFC 9112 §6.1, §6.3: how the request body is framed. */
function requestFraming(fields: Fields, version: string): Framing {
  const hasTe = getAll(fields, "transfer-encoding").length > 0;
  const cl = contentLength(fields, "bad_request");
  if (hasTe) {
    // RFC 9112 §6.1: a message with both may be an attempt at request smuggling; refuse.
    if (cl !== undefined) throw bad("both Transfer-Encoding and Content-Length present");
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request has faulty framing.
    if (version === "HTTP/1.0") throw bad("Transfer-Encoding in an HTTP/1.0 request");
    isChunked(fields, "bad_request");
    return { kind: "chunked" };
  }
  if (cl === undefined || cl === 0) return NO_BODY;
  return { kind: "length", length: cl };
}

interface TargetForm {
  forwardTarget: string;
  path: string;
  authority?: string;
  /** The absolute-form's scheme, lower-cased. */
  scheme?: string;
}

/** RFC 9112 §3.2: origin-form, absolute-form or asterisk-form (authority-form is CONNECT's). */
function parseTarget(method: string, target: string): TargetForm {
  if (target.charCodeAt(0) === 0x2f /* / */) return { forwardTarget: target, path: pathOf(target) };
  if (target === "*") {
    if (method !== "OPTIONS") throw bad(`request target "*" is only valid with OPTIONS`);
    return { forwardTarget: "*", path: "*" };
  }
  const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
  if (!m) throw bad(`invalid request target ${quote(target)}`);
  const authority = m[2];
  if (!isValidAuthority(authority, false)) throw bad(`invalid authority in request target ${quote(target)}`);
  // An empty path in absolute-form means "/" (RFC 9112 §3.2.1); the rest is kept byte for byte.
  const rest = m[3].startsWith("/") ? m[3] : "/" + m[3];
  return { forwardTarget: rest, path: pathOf(rest), authority, scheme: m[1].toLowerCase() };
}

/**
 * Host and an absolute-form authority name the same origin: equal ignoring case (RFC 9110
 * §4.2.3: the host is case-insensitive), a port equal to the scheme's default the same as no
 * port (`http://x:80/` and `Host: x`).
 */
function sameAuthority(host: string, authority: string, scheme: string): boolean {
  const norm = (a: string) => {
    const lower = a.toLowerCase();
    const port = scheme === "https" ? ":443" : ":80";
    return lower.endsWith(port) ? lower.slice(0, -port.length) : lower;
  };
  return norm(host) === norm(authority);
}

function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

/**
 * uri-host [":" port] (RFC 3986 §3.2.2); userinfo is not allowed in Host. One sub-delim is
 * refused although reg-name allows it: ",". RFC 9110 §5.3 lets a recipient join repeated fields
 * with commas, so `Host: a,b` is what two Host fields look like after such a hop, and servers
 * disagree on which of the two they route by; no DNS name contains a comma.
 */
function isValidAuthority(a: string, allowEmpty: boolean): boolean {
  if (a === "") return allowEmpty;
  // RFC 9112 §3.2: a Host with an invalid value MUST get 400. So "%" only as pct-encoded
  // (`a%zz` is no reg-name) and a bracketed literal only as an IPv6address (`[::::]` is none),
  // RFC 3986 §2.1, §3.2.2.
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|(?:[A-Za-z0-9\-._~!$&'()*+;=]|%[0-9A-Fa-f]{2})+)(?::[0-9]{0,5})?$/.exec(a);
  return m !== null && (m[1] === undefined || isIPv6(m[1]));
}

/** IPv6address (RFC 3986 §3.2.2): eight 16-bit groups, or fewer around one "::"; the last two may be an IPv4 address. */
function isIPv6(s: string): boolean {
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  const all = groups.flat();
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    // Only the very last group may be dotted, and only when it is not before the "::".
    if (i === all.length - 1 && all[i].includes(".") && (halves.length === 1 || groups[1].length > 0)) {
      if (!/^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/.test(all[i])) return false;
      count += 2;
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(all[i])) count++;
    else return false;
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** The host of an authority, lowercased, without port or IPv6 brackets. */
export function hostOf(authority: string): string {
  let h = authority;
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    h = h.slice(1, end < 0 ? undefined : end);
  } else {
    const colon = h.lastIndexOf(":");
    if (colon >= 0) h = h.slice(0, colon);
  }
  h = h.toLowerCase();
  // A trailing dot names the same host (RFC 1034 §3.1).
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/**
 * The protocols a request may ask the server to switch to, or null. `h2c` is never passed on:
 * after its 101 the connection carries HTTP/2 requests that ferry does not read, so they would
 * reach the server past every route and forwarding field ferry applies ("h2c smuggling"); ferry
 * does not speak HTTP/2, so such a request is simply served as HTTP/1.1 (RFC 9113 §3.1 left
 * h2c upgrades optional, and RFC 9113 deprecates them).
 */
function upgradeProtocols(values: string[]): string | null {
  const offered = values.join(",").split(",").map((p) => p.trim()).filter((p) => p !== "" && p.split("/")[0].toLowerCase() !== "h2c");
  return offered.length === 0 ? null : offered.join(", ");
}
