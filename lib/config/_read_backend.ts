/** Reads the `backends:` mapping: where traffic goes. */
import { parseHashKey } from "../balance/hash_key.ts";
import { TOKEN } from "./_patterns.ts";
import { hostKey } from "./parse_host_port.ts";
import { readHealth, readPassive } from "./_read_health.ts";
import { type HttpOnlySetting, isValidName, MAX_TIMEOUT_MS, nameMessage, readTimeout } from "./_shared.ts";
import { quote, type YamlMap, type YamlValue } from "./_yaml_value.ts";
import {
  type BackendConfig,
  type BackendLimits,
  type BackendTimeouts,
  type BalanceName,
  DEFAULTS,
  type HashKey,
  type ServerConfig,
} from "./types.ts";

const BACKEND_KEYS = [
  "balance",
  "hash_key",
  "sticky",
  "servers",
  "timeouts",
  "limits",
  "max_idle_conns",
  "retries",
  "retry_timeout",
  "retry_body_limit",
  "max_conns",
  "queue_timeout",
  "slow_start",
  "resolve_interval",
  "health",
  "passive",
];
const SERVER_KEYS = ["address", "weight", "max_conns"];
const TIMEOUT_KEYS = ["connect", "response", "idle"];
const LIMIT_KEYS = ["max_head_size", "max_headers"];
const STICKY_KEYS = ["cookie"];
/** One entry per policy file in lib/balance/. */
const BALANCE_NAMES: readonly BalanceName[] = ["round_robin", "least_conn", "random_two", "ip_hash", "hash", "first"];
const MAX_CONNS = 1_000_000;

/** `httpOnly` collects the settings that need HTTP traffic, to be judged against the listeners. */
export function readBackends(value: YamlValue | undefined, httpOnly: HttpOnlySetting[]): Map<string, BackendConfig> {
  const backends = new Map<string, BackendConfig>();
  const map = value?.map(null);
  if (map === undefined) return backends;
  for (const [name, entry] of map.entries()) {
    if (!isValidName(name)) {
      entry.walk.report(map.keyOffset(name), entry.path, nameMessage(name));
    }
    backends.set(name, readBackend(name, entry, httpOnly));
  }
  return backends;
}

function readBackend(name: string, value: YamlValue, httpOnly: HttpOnlySetting[]): BackendConfig {
  const map = value.map(BACKEND_KEYS);
  const defaults = DEFAULTS.backend;
  const maxConnsValue = map?.get("max_conns");
  const maxConnsRead = maxConnsValue?.int(0, MAX_CONNS);
  const maxConns = maxConnsRead ?? defaults.max_conns;
  const balanceValue = map?.get("balance");
  const balanceName = balanceValue?.oneOf(BALANCE_NAMES);
  const balance = balanceName ?? defaults.balance;
  const limitsKnown = { ok: maxConnsValue === undefined || maxConnsRead !== undefined };
  const queueTimeoutValue = map?.get("queue_timeout");
  const queueTimeout = readTimeout(queueTimeoutValue);
  const backend: BackendConfig = {
    name,
    balance,
    servers: map === undefined ? [] : readServers(map, maxConns, limitsKnown),
    timeouts: readTimeouts(map?.get("timeouts")),
    limits: readLimits(map?.get("limits")),
    max_idle_conns: map?.get("max_idle_conns")?.int(0, 10_000) ?? defaults.max_idle_conns,
    retries: readRetries(map?.get("retries")),
    retry_timeout: readTimeout(map?.get("retry_timeout")) ?? defaults.retry_timeout,
    retry_body_limit: map?.get("retry_body_limit")?.size(0, 16 * 1024 * 1024, "0 to 16MiB") ?? defaults.retry_body_limit,
    max_conns: maxConns,
    queue_timeout: queueTimeout ?? defaults.queue_timeout,
    slow_start: readSlowStart(map?.get("slow_start")),
    resolve_interval: map?.get("resolve_interval")?.duration(1000, MAX_TIMEOUT_MS, "1s to 596h") ?? defaults.resolve_interval,
    passive: readPassive(map?.get("passive")),
  };
  // The queue is for servers at max_conns; without a limit on any server nothing ever waits.
  // (Judged only when the values involved are valid: one error each is enough.)
  const unlimited = backend.servers.length > 0 && backend.servers.every((s) => s.max_conns === 0);
  if (queueTimeout !== undefined && limitsKnown.ok && unlimited) queueTimeoutValue!.fail("has no effect without max_conns");
  const health = readHealth(map?.get("health"));
  if (health) backend.health = health;
  // An invalid balance was reported already; judging hash_key against the fallback would only add noise.
  if (balanceValue === undefined || balanceName !== undefined) {
    const hashKeyValue = map?.get("hash_key");
    const hashKey = readHashKey(hashKeyValue, balance);
    if (hashKey) {
      backend.hash_key = hashKey;
      // Every hash_key names a part of a request (header, cookie, query, path); ip_hash is the TCP form.
      httpOnly.push({ backend: name, at: hashKeyValue!, why: "TCP has no request to take the key from, use balance: ip_hash" });
    } else if (balance === "hash" && !map?.has("hash_key")) balanceValue!.fail(`needs hash_key (header:NAME, cookie:NAME, query:NAME or path), got "hash"`);
  }
  const stickyValue = map?.get("sticky");
  const sticky = readSticky(stickyValue);
  if (sticky) {
    backend.sticky = sticky;
    httpOnly.push({ backend: name, at: stickyValue!, why: "cookies need HTTP" });
  }
  return backend;
}

function readHashKey(value: YamlValue | undefined, balance: BalanceName): HashKey | undefined {
  if (value === undefined) return undefined;
  if (balance !== "hash") return value.fail(`only applies to balance: hash (balance is ${balance})`);
  const text = value.text();
  if (text === undefined) return undefined;
  const key = parseHashKey(text);
  return typeof key === "string" ? value.fail(key) : key;
}

/** `sticky: cookie` or `sticky: { cookie: NAME }`. */
function readSticky(value: YamlValue | undefined): { cookie: string } | undefined {
  if (value === undefined) return undefined;
  if (!value.isMap()) {
    if (value.isText() && value.text() === "cookie") return { cookie: DEFAULTS.backend.sticky_cookie };
    return value.fail(`must be "cookie" or { cookie: NAME }, ${value.got()}`);
  }
  const cookie = value.map(STICKY_KEYS)?.require("cookie");
  const name = cookie?.text();
  if (name === undefined) return undefined;
  // RFC 6265 §4.1.1: a cookie name is an RFC 9110 token.
  if (!TOKEN.test(name)) return cookie!.fail(`must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~), ${cookie!.got()}`);
  if (name.length > 64) return cookie!.fail(`must be at most 64 characters, ${cookie!.got()}`);
  return { cookie: name };
}

/** A count, or `auto` (the default: every other server once). */
function readRetries(value: YamlValue | undefined): number | "auto" {
  if (value === undefined || (value.isText() && value.text() === "auto")) return DEFAULTS.backend.retries;
  // A number gets int()'s own message (range, or digits); anything else is told both forms.
  if (!value.isNumber()) {
    value.fail(`must be "auto" or an integer from 0 to 100, ${value.got()}`);
    return DEFAULTS.backend.retries;
  }
  return value.int(0, 100) ?? DEFAULTS.backend.retries;
}

/** A duration; a bare `0` (off) is allowed too, since zero needs no unit. */
function readSlowStart(value: YamlValue | undefined): number {
  return value?.duration(0, MAX_TIMEOUT_MS, "0s to 596h") ?? DEFAULTS.backend.slow_start;
}

/** `limitsKnown.ok` is cleared when a server's max_conns is not known (invalid, or the entry is). */
function readServers(backend: YamlMap, maxConns: number, limitsKnown: { ok: boolean }): ServerConfig[] {
  const value = backend.require("servers");
  const items = value?.list();
  if (value === undefined || items === undefined) return [];
  if (items.length === 0) value.fail(`must list at least one server, ${value.got()}`);

  const servers: ServerConfig[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const server = readServer(item, maxConns, limitsKnown);
    if (server === undefined) {
      // Its max_conns, if any, is unknown now too.
      limitsKnown.ok = false;
      return;
    }
    const key = `${hostKey(server.hostname)} ${server.port}`;
    const first = seen.get(key);
    if (first !== undefined) {
      // A repeated address is almost always a copy-paste slip; weight says "more" on purpose.
      item.fail(`duplicate of servers[${first}] (use weight for a bigger share), got ${quote(server.address)}`);
    } else {
      seen.set(key, index);
    }
    servers.push(server);
  });
  return servers;
}

/** `- 127.0.0.1:9001` or `- { address: 127.0.0.1:9001, weight: 2, max_conns: 100 }`. */
function readServer(value: YamlValue, maxConns: number, limitsKnown: { ok: boolean }): ServerConfig | undefined {
  let address = value;
  let weight: number = DEFAULTS.server.weight;
  let max_conns = maxConns;
  if (value.isMap()) {
    const map = value.map(SERVER_KEYS);
    weight = map?.get("weight")?.int(1, 1000) ?? weight;
    const own = map?.get("max_conns");
    const ownRead = own?.int(0, MAX_CONNS);
    if (own !== undefined && ownRead === undefined) limitsKnown.ok = false;
    max_conns = ownRead ?? max_conns;
    const required = map?.require("address");
    if (required === undefined) return undefined;
    address = required;
  }
  const hostPort = address.address("server");
  if (hostPort === undefined) return undefined;
  return { address: address.text()!, ...hostPort, weight, max_conns };
}

function readTimeouts(value: YamlValue | undefined): BackendTimeouts {
  const defaults = DEFAULTS.backend.timeouts;
  const map = value?.map(TIMEOUT_KEYS);
  return {
    connect: readTimeout(map?.get("connect")) ?? defaults.connect,
    response: readTimeout(map?.get("response")) ?? defaults.response,
    idle: readTimeout(map?.get("idle")) ?? defaults.idle,
  };
}

function readLimits(value: YamlValue | undefined): BackendLimits {
  const defaults = DEFAULTS.backend.limits;
  const map = value?.map(LIMIT_KEYS);
  return {
    // Response heads are buffered whole, like request heads: the same 1 MiB bound.
    max_head_size: map?.get("max_head_size")?.size(64, 1024 * 1024, "64B to 1MiB") ?? defaults.max_head_size,
    max_headers: map?.get("max_headers")?.int(1, 10_000) ?? defaults.max_headers,
  };
}
