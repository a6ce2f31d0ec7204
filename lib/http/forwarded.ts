/**
 * The fields a proxy adds so the backend knows who really asked: X-Forwarded-For (appended,
 * never replaced: earlier proxies' entries stay, as in Go's ReverseProxy), X-Forwarded-Proto and
 * X-Forwarded-Host (set), Forwarded (RFC 7239: this hop's element appended), X-Real-IP (set, as
 * nginx's `proxy_set_header X-Real-IP $remote_addr`), and Via (RFC 9110 §7.6.3: a proxy MUST
 * add itself).
 *
 * Whatever the client sent in these fields is a claim, not a fact: the appended lists keep it
 * only as the record of the chain before ferry (a backend trusts the elements its own proxies
 * added, counted from the right), and the single-valued fields are replaced.
 */
import type { Fields } from "./headers.ts";
import { isFieldValue, isToken } from "./syntax.ts";

export const VIA_NAME = "ferry";

export interface ForwardInfo {
  /** The client's IP address. */
  clientIp: string;
  /** "http" or "https": the scheme the client used to reach ferry. */
  proto: string;
  /** The authority the client asked for (its Host). */
  host: string;
  /** The request's HTTP version, "1.0" or "1.1", for Via. */
  version: string;
}

export function addForwardingHeaders(fields: Fields, info: ForwardInfo): Fields {
  const out: Fields = [];
  const xff: string[] = [];
  const forwarded: string[] = [];
  const via: string[] = [];
  for (const f of fields) {
    const lower = f[0].toLowerCase();
    if (lower === "x-forwarded-for") xff.push(f[1]);
    else if (lower === "forwarded") {
      // RFC 7239 §4 lets a proxy remove Forwarded fields. A malformed one is dropped: joined
      // to ours, an unclosed quote would swallow ferry's element (`for="9.9.9.9` + `, for=…`),
      // and a strict parser refusing the whole field would lose it too. Empty ones add nothing.
      if (f[1] !== "" && isForwardedValue(f[1])) forwarded.push(f[1]);
    } else if (lower === "via") via.push(f[1]);
    // Set, not appended: only ferry knows the scheme and host the client really used, and the
    // address it connected from.
    else if (lower !== "x-forwarded-proto" && lower !== "x-forwarded-host" && lower !== "x-real-ip") out.push(f);
  }
  xff.push(info.clientIp);
  out.push(["X-Forwarded-For", xff.join(", ")], ["X-Forwarded-Proto", info.proto]);
  if (info.host) out.push(["X-Forwarded-Host", info.host]);
  // RFC 7239 §4: a proxy appends its element to the last Forwarded field after a comma, or adds
  // a field at the end. Earlier fields are first joined into one (RFC 9110 §5.3: the same list),
  // so that a backend reading only one Forwarded line (Go's Header.Get) sees the whole chain
  // with ferry's element last, as X-Forwarded-For is sent.
  forwarded.push(forwardedElement(info));
  out.push(["Forwarded", forwarded.join(", ")]);
  // One address, never a list: backends read X-Real-IP as the client, whole.
  if (info.clientIp) out.push(["X-Real-IP", info.clientIp]);
  via.push(`${info.version} ${VIA_NAME}`);
  out.push(["Via", via.join(", ")]);
  return out;
}

/** Adds this hop to Via, keeping the hops before it (RFC 9110 §7.6.3). */
export function appendVia(fields: Fields, version: string): Fields {
  const out: Fields = [];
  const via: string[] = [];
  for (const f of fields) {
    if (f[0].length === 3 && f[0].toLowerCase() === "via") via.push(f[1]);
    else out.push(f);
  }
  via.push(`${version} ${VIA_NAME}`);
  out.push(["Via", via.join(", ")]);
  return out;
}

/**
 * This hop's forwarded-element (RFC 7239 §4): `for=CLIENT;proto=PROTO;host=HOST`. No `by`:
 * ferry's own address tells the backend nothing it does not know, and §8.2 counts it as a leak.
 */
function forwardedElement(info: ForwardInfo): string {
  let e = `for=${forwardedValue(nodeOf(info.clientIp))};proto=${forwardedValue(info.proto)}`;
  // §5.3: the Host the client sent, as is; a value that cannot be quoted is left out.
  const host = info.host === "" ? null : forwardedValue(info.host);
  if (host !== null) e += `;host=${host}`;
  return e;
}

/**
 * A node (RFC 7239 §6): an IPv6 address in brackets (§6.1), an address not known "unknown"
 * (§6.2), otherwise the IPv4 address.
 */
function nodeOf(ip: string): string {
  if (ip === "") return "unknown";
  return ip.includes(":") && !ip.startsWith("[") ? `[${ip}]` : ip;
}

/**
 * value = token / quoted-string (RFC 7239 §4): a token as is, anything else quoted, so `:` and
 * `[]` (§4: IPv6 and host:port MUST be quoted) and a Host holding `;` or `=` (sub-delims a
 * reg-name may contain, RFC 3986 §3.2.2) cannot start a parameter or element of their own. Null when the
 * value holds a byte a quoted-string cannot carry (a control byte other than HTAB).
 */
function forwardedValue(s: string): string | null {
  if (isToken(s)) return s;
  if (!isFieldValue(s)) return null;
  // RFC 9110 §5.6.4: `"` and `\` inside a quoted-string are sent as quoted-pairs.
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
/** quoted-string (RFC 9110 §5.6.4): qdtext and quoted-pairs between DQUOTEs. */
const QUOTED = /"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"/y;

function matchAt(re: RegExp, s: string, i: number): number {
  re.lastIndex = i;
  return re.test(s) ? re.lastIndex : -1;
}

/**
 * True when `v` is a Forwarded field value: `1#forwarded-element`, each element
 * `[ forwarded-pair ] *( ";" [ forwarded-pair ] )` with `forwarded-pair = token "=" value`
 * (RFC 7239 §4), no parameter twice in one element (§4: MUST NOT occur more than once), OWS
 * only around the commas of the list (RFC 9110 §5.6.1, which also lets elements be empty).
 */
export function isForwardedValue(v: string): boolean {
  let i = 0;
  let seen = new Set<string>();
  for (;;) {
    const nameEnd = matchAt(TOKEN, v, i);
    if (nameEnd >= 0) {
      const name = v.slice(i, nameEnd).toLowerCase();
      if (seen.has(name) || v[nameEnd] !== "=") return false;
      seen.add(name);
      i = Math.max(matchAt(TOKEN, v, nameEnd + 1), matchAt(QUOTED, v, nameEnd + 1));
      if (i < 0) return false;
    }
    if (i === v.length) return true;
    if (v[i] === ";") {
      i++;
      continue;
    }
    while (v[i] === " " || v[i] === "\t") i++;
    if (i === v.length) return true;
    if (v[i] !== ",") return false;
    i++;
    while (v[i] === " " || v[i] === "\t") i++;
    seen = new Set();
  }
}
