import type { ConfigError } from "./config_error.ts";
import { hostKey, parseHostPort } from "./parse_host_port.ts";
import { type Config, defaultBackend, DEFAULTS, type HostPort, type ServerConfig } from "./types.ts";

/** What `Config.source` and error labels say for a config built from flags. */
export const COMMAND_LINE = "<command line>";

/**
 * Builds the config for `ferry --listen ADDR --to ADDR...`: one HTTP listener named `quick`
 * proxying everything round-robin to a backend named `quick`, with every default as in a file.
 *
 * Errors have no position (line 0); their path is the flag, e.g.
 * `--to: needs a host, like "127.0.0.1:8080", got ":9001"`.
 */
export function quickConfig(listen: string, to: string[]): { config: Config } | { errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const fail = (flag: string, message: string) => {
    errors.push({ file: COMMAND_LINE, line: 0, col: 0, path: flag, message });
  };

  let address: HostPort = { hostname: "0.0.0.0", port: 0 };
  try {
    address = parseHostPort(listen, "listen");
  } catch (error) {
    fail("--listen", (error as Error).message);
  }

  if (to.length === 0) fail("--to", "needs at least one server address");
  const servers: ServerConfig[] = [];
  for (const text of to) {
    try {
      const hostPort = parseHostPort(text, "server");
      const duplicate = servers.some((s) => hostKey(s.hostname) === hostKey(hostPort.hostname) && s.port === hostPort.port);
      if (duplicate) fail("--to", `same server given twice, got ${JSON.stringify(text)}`);
      servers.push({ address: text, ...hostPort, weight: DEFAULTS.server.weight, max_conns: DEFAULTS.backend.max_conns });
    } catch (error) {
      fail("--to", (error as Error).message);
    }
  }
  if (errors.length > 0) return { errors };

  const name = "quick";
  const listener = DEFAULTS.listener;
  return {
    config: {
      listeners: [{
        name,
        listen: address,
        mode: "http",
        routes: [{ path: DEFAULTS.route.path, action: { type: "proxy", backend: name } }],
        limits: { ...listener.limits },
        timeouts: { ...listener.timeouts },
      }],
      backends: new Map([[name, defaultBackend(name, servers)]]),
      log: { ...DEFAULTS.log },
      shutdown_timeout: DEFAULTS.shutdown_timeout,
      source: COMMAND_LINE,
    },
  };
}
