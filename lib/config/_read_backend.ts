/** Reads the `backends:` mapping: where traffic goes. */
import { isValidName, nameMessage, readTimeout } from "./_shared.ts";
import { quote, type YamlMap, type YamlValue } from "./_yaml_value.ts";
import {
  type BackendConfig,
  type BackendTimeouts,
  type BalanceName,
  DEFAULTS,
  type ServerConfig,
} from "./types.ts";

const BACKEND_KEYS = ["balance", "servers", "timeouts", "max_idle_conns"];
const SERVER_KEYS = ["address", "weight"];
const TIMEOUT_KEYS = ["connect", "response", "idle"];
/** One entry per policy file in lib/balance/. */
const BALANCE_NAMES: readonly BalanceName[] = ["round_robin"];

export function readBackends(value: YamlValue | undefined): Map<string, BackendConfig> {
  const backends = new Map<string, BackendConfig>();
  const map = value?.map(null);
  if (map === undefined) return backends;
  for (const [name, entry] of map.entries()) {
    if (!isValidName(name)) {
      entry.walk.report(map.keyOffset(name), entry.path, nameMessage(name));
    }
    backends.set(name, readBackend(name, entry));
  }
  return backends;
}

function readBackend(name: string, value: YamlValue): BackendConfig {
  const map = value.map(BACKEND_KEYS);
  const defaults = DEFAULTS.backend;
  return {
    name,
    balance: map?.get("balance")?.oneOf(BALANCE_NAMES) ?? defaults.balance,
    servers: map === undefined ? [] : readServers(map),
    timeouts: readTimeouts(map?.get("timeouts")),
    max_idle_conns: map?.get("max_idle_conns")?.int(0, 10_000) ?? defaults.max_idle_conns,
  };
}

function readServers(backend: YamlMap): ServerConfig[] {
  const value = backend.require("servers");
  const items = value?.list();
  if (value === undefined || items === undefined) return [];
  if (items.length === 0) value.fail(`must list at least one server, ${value.got()}`);

  const servers: ServerConfig[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const server = readServer(item);
    if (server === undefined) return;
    const key = `${server.hostname.toLowerCase()} ${server.port}`;
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

/** `- 127.0.0.1:9001` or `- { address: 127.0.0.1:9001, weight: 2 }`. */
function readServer(value: YamlValue): ServerConfig | undefined {
  let address = value;
  let weight: number = DEFAULTS.server.weight;
  if (value.isMap()) {
    const map = value.map(SERVER_KEYS);
    weight = map?.get("weight")?.int(1, 1000) ?? weight;
    const required = map?.require("address");
    if (required === undefined) return undefined;
    address = required;
  }
  const hostPort = address.address("server");
  if (hostPort === undefined) return undefined;
  return { address: address.text()!, ...hostPort, weight };
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
