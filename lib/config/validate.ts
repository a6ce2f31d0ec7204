/**
 * Turns a parsed YAML document into a `Config`: checks every rule, collects every problem
 * (one run should show all of them, not one per edit) and fills in the defaults.
 */
import type { Document, LineCounter } from "yaml";
import type { ConfigError } from "./config_error.ts";
import { readBackends } from "./_read_backend.ts";
import { readListeners } from "./_read_listener.ts";
import { type BackendRef, type HttpOnlySetting, readTimeout } from "./_shared.ts";
import { Walk, type YamlValue } from "./_yaml_value.ts";
import { IPV4, IPV6 } from "./_patterns.ts";
import { type Config, DEFAULTS, type HostPort, type LogConfig } from "./types.ts";

const ROOT_KEYS = ["log", "listeners", "backends", "resolver", "shutdown_timeout"];
const LOG_KEYS = ["access"];

export function validateConfig(
  doc: Document,
  lines: LineCounter,
  file: string,
): { config: Config } | { errors: ConfigError[] } {
  const walk = new Walk(file, doc, lines);
  const root = walk.root();
  if (root.node === null) {
    walk.report(0, "listeners", "required key is missing");
    return { errors: walk.errors };
  }

  const map = root.map(ROOT_KEYS);
  const refs: BackendRef[] = [];
  const httpOnly: HttpOnlySetting[] = [];
  const listenersValue = map?.require("listeners");
  const config: Config = {
    listeners: listenersValue === undefined ? [] : readListeners(listenersValue, refs),
    backends: readBackends(map?.get("backends"), httpOnly),
    log: readLog(map?.get("log")),
    shutdown_timeout: readTimeout(map?.get("shutdown_timeout")) ?? DEFAULTS.shutdown_timeout,
    source: file,
  };
  const resolver = readResolver(map?.get("resolver"));
  if (resolver) config.resolver = resolver;

  const defined = [...config.backends.keys()];
  for (const { name, at } of refs) {
    if (config.backends.has(name)) continue;
    const known = defined.length === 0 ? "no backends are defined" : `defined: ${defined.join(", ")}`;
    at.fail(`unknown backend ${JSON.stringify(name)}, ${known}`);
  }
  checkHttpOnly(httpOnly, refs);

  if (walk.errors.length > 0) {
    // Cross-checks run last; sorting puts every error back in reading order.
    return { errors: walk.errors.toSorted((a, b) => a.line - b.line || a.col - b.col) };
  }
  return { config };
}

/**
 * A setting that needs HTTP, on a backend that only tcp listeners send traffic to, would be
 * ignored without a word. A backend that no listener uses is left alone (nothing reaches it),
 * and one used by both kinds keeps the setting for its HTTP traffic.
 */
function checkHttpOnly(settings: HttpOnlySetting[], refs: BackendRef[]): void {
  for (const { backend, at, why } of settings) {
    const modes = new Set(refs.filter((ref) => ref.name === backend).map((ref) => ref.mode));
    if (modes.size === 1 && modes.has("tcp")) {
      at.fail(`has no effect: backend ${JSON.stringify(backend)} is used only by tcp listeners (${why})`);
    }
  }
}

/** `resolver: 127.0.0.1:53`: a DNS server by IP address (a name would need a resolver of its own). */
function readResolver(value: YamlValue | undefined): HostPort | undefined {
  const hp = value?.address("server");
  if (hp === undefined) return undefined;
  if (!IPV4.test(hp.hostname) && !IPV6.test(hp.hostname)) return value!.fail(`must be an IP address and port, like "127.0.0.1:53", ${value!.got()}`);
  return hp;
}

function readLog(value: YamlValue | undefined): LogConfig {
  const access = value?.map(LOG_KEYS)?.get("access");
  const target = access?.text();
  if (access !== undefined && target === "") {
    access.fail(`must be "stdout", "stderr", "off" or a file path, ${access.got()}`);
  }
  return { access: target || DEFAULTS.log.access };
}
