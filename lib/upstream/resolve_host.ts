/**
 * The addresses behind a server's host name: through the configured DNS server (A and AAAA, with
 * TTLs) or, without one, through the system's resolver (getaddrinfo: /etc/hosts, then DNS; no TTL).
 *
 * Each call with a DNS server uses a Resolver of its own. Bun's Resolver (c-ares) keeps an answer
 * cache per Resolver until the TTL runs out, Deno's has none: a shared Resolver would hide changes
 * that `resolve_interval` asks to see, on Bun only. A per-call Resolver also lets a timeout
 * `cancel()` just this lookup, and costs no descriptors (300 of them: no fd growth on either runtime).
 */
import dns from "node:dns";
import { isIP } from "node:net";
import type { HostPort } from "../config/types.ts";

export interface Resolved {
  /** Deduplicated, IPv4 before IPv6, each in numeric order: equal sets compare equal. */
  addresses: string[];
  /** Smallest TTL of the answer, ms; undefined when unknown (IP literal, system resolver). */
  ttlMs?: number;
}

export interface ResolveOptions {
  /** DNS server to ask; without it the system resolver answers. */
  resolver?: HostPort;
  /** Bound on the whole lookup, ms. Default 5000. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** An IPv4 dotted quad or an IPv6 address without brackets. */
export function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}

/**
 * Never throws: rejects with `cannot resolve "name": <reason>`. An IP literal comes back as is,
 * without any lookup.
 */
export async function resolveHost(name: string, opts: ResolveOptions = {}): Promise<Resolved> {
  if (isIpLiteral(name)) return { addresses: [name] };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    if (name === "") throw new Reason("empty name");
    return opts.resolver ? await queryServer(name, opts.resolver, timeoutMs) : await lookupSystem(name, timeoutMs);
  } catch (e) {
    const reason = e instanceof Reason ? e.message : `unexpected error: ${e instanceof Error ? e.message : String(e)}`;
    throw new Error(`cannot resolve "${name}": ${reason}`);
  }
}

/** A failure already worded for the `cannot resolve` message. */
class Reason extends Error {}

async function queryServer(name: string, server: HostPort, timeoutMs: number): Promise<Resolved> {
  const where = isIP(server.hostname) === 6
    ? `[${server.hostname}]:${server.port}`
    : `${server.hostname}:${server.port}`;
  // c-ares and Deno both double the wait on the retry: T + 2T = timeoutMs. The timer below is the
  // real bound (Bun adds jitter, ~10 % over).
  const resolver = new dns.promises.Resolver({ timeout: Math.max(1, Math.ceil(timeoutMs / 3)), tries: 2 });
  resolver.setServers([where]);
  const answers = Promise.allSettled([resolver.resolve4(name, { ttl: true }), resolver.resolve6(name, { ttl: true })]);
  const settled = await withTimeout(answers, timeoutMs, () => resolver.cancel());
  if (settled === TIMED_OUT) throw new Reason(`no answer from DNS server ${where} within ${timeoutMs} ms`);

  const records: dns.RecordWithTtl[] = [];
  let nxdomain = 0;
  for (const r of settled) {
    if (r.status === "fulfilled") records.push(...r.value);
    else if (isNoSuchName(r.reason)) nxdomain++;
    else if (!isNoData(r.reason)) throw new Reason(serverFailure(r.reason, where, timeoutMs));
  }
  if (records.length === 0) throw new Reason(nxdomain === 2 ? "no such host" : "no addresses");
  return {
    addresses: sortAddresses(records.map((r) => r.address)),
    ttlMs: Math.min(...records.map((r) => r.ttl)) * 1000,
  };
}

async function lookupSystem(name: string, timeoutMs: number): Promise<Resolved> {
  // getaddrinfo cannot be cancelled: a late answer or error is dropped.
  const lookup = dns.promises.lookup(name, { all: true });
  lookup.catch(() => {});
  let found: dns.LookupAddress[] | typeof TIMED_OUT;
  try {
    found = await withTimeout(lookup, timeoutMs);
  } catch (e) {
    throw new Reason(lookupFailure(e));
  }
  if (found === TIMED_OUT) throw new Reason(`timed out after ${timeoutMs} ms`);
  if (found.length === 0) throw new Reason("no addresses");
  return { addresses: sortAddresses(found.map((a) => a.address)) };
}

const TIMED_OUT = Symbol("timed out");

async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout?: () => void): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      onTimeout?.();
      resolve(TIMED_OUT);
    }, ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function code(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

// Deno and Bun both report a NOERROR answer without records as ENOTFOUND (Node says ENODATA), so
// "no such host" versus "no addresses" is only told apart where the runtime does.
function isNoSuchName(e: unknown): boolean {
  return code(e) === "ENOTFOUND";
}

function isNoData(e: unknown): boolean {
  return code(e) === "ENODATA";
}

/** Deno reports SERVFAIL and REFUSED as ENOTFOUND too; Bun has the codes below. */
function serverFailure(e: unknown, where: string, timeoutMs: number): string {
  switch (code(e)) {
    case "ETIMEOUT":
      return `no answer from DNS server ${where} within ${timeoutMs} ms`;
    case "ECONNREFUSED":
      return `DNS server ${where} unreachable (connection refused)`;
    case "EREFUSED":
      return `DNS server ${where} refused the query`;
    case "ESERVFAIL":
      return `DNS server ${where} failed (SERVFAIL)`;
    case "EBADRESP":
    case "EFORMERR":
      return `bad response from DNS server ${where}`;
    default:
      return `DNS server ${where}: ${code(e) ?? (e instanceof Error ? e.message : String(e))}`;
  }
}

function lookupFailure(e: unknown): string {
  switch (code(e)) {
    case "ENOTFOUND":
    case "EAI_NONAME":
      return "no such host";
    case "ENODATA":
    case "EAI_NODATA":
      return "no addresses";
    case "EAI_AGAIN":
      return "temporary failure of the system resolver (EAI_AGAIN)";
    default:
      return `system resolver: ${code(e) ?? (e instanceof Error ? e.message : String(e))}`;
  }
}

/** Deduplicated, IPv4 first, then numeric order within a family. */
function sortAddresses(addresses: string[]): string[] {
  const keyed = [...new Set(addresses)].map((a) => ({ a, key: sortKey(a) }));
  keyed.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return keyed.map((k) => k.a);
}

/** A string that orders like the address: family digit, then the bytes as fixed-width hex. */
function sortKey(address: string): string {
  if (isIP(address) === 4) return "4" + address.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");
  const [addr, zone = ""] = address.split("%");
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, null];
  const groups = (s: string): string[] => {
    if (s === "") return [];
    return s.split(":").flatMap((g) => {
      if (!g.includes(".")) return [g];
      const b = g.split(".").map(Number); // embedded IPv4, e.g. ::ffff:10.0.0.1
      return [((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16)];
    });
  };
  const h = groups(head);
  const t = tail === null ? [] : groups(tail);
  const all = [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return "6" + all.map((g) => g.padStart(4, "0").toLowerCase()).join("") + "%" + zone;
}
