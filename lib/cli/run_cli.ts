/**
 * ferry's command line: parse flags, load and validate the config, bind, serve, reload on
 * SIGHUP, and stop gracefully on SIGTERM/SIGINT. Exit codes: 0 stopped cleanly or --check
 * passed, 1 cannot start (a port in use, say), 2 invalid config or command line.
 */
import process from "node:process";
import pkg from "../../package.json" with { type: "json" };
import { HELP_TEXT, parseCli } from "./parse_cli.ts";
import type { Signals } from "./signals.ts";
import { printConfigErrors } from "./print_config_errors.ts";
import { type Config, loadConfigFile, quickConfig } from "../config/mod.ts";
import { accessLogProblem, errorLog } from "../log/mod.ts";
import { runtime } from "../runtime/mod.ts";
import { type BoundListener, ListenError, type RunningServer, startServer } from "../server/start_server.ts";

export async function runCli(args: string[], signals: Signals): Promise<number> {
  const cmd = parseCli(args);
  switch (cmd.kind) {
    case "help":
      process.stdout.write(HELP_TEXT);
      return 0;
    case "version":
      process.stdout.write(`ferry ${pkg.version} (${runtime.name})\n`);
      return 0;
    case "error":
      errorLog(`${cmd.message}\n\n${HELP_TEXT}`);
      return 2;
  }

  const loaded = cmd.kind === "quick" ? quickConfig(cmd.listen, cmd.to) : await loadConfigFile(cmd.configPath);
  if ("errors" in loaded) {
    printConfigErrors(loaded.errors, stderrLine, errorLog);
    return 2;
  }
  if (cmd.kind === "check") {
    // The one start-up failure a config can cause that is not a port: say it now, not at start.
    const logProblem = accessLogProblem(loaded.config.log.access);
    if (logProblem) {
      errorLog(logProblem);
      return 1;
    }
    process.stdout.write(`${cmd.configPath}: configuration is valid\n`);
    return 0;
  }
  return await run(loaded.config, cmd.kind === "quick" ? null : cmd.configPath, signals);
}

function stderrLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function run(config: Config, configPath: string | null, signals: Signals): Promise<number> {
  let started!: (server: RunningServer) => void;
  const ready = new Promise<RunningServer>((resolve) => (started = resolve));
  // SIGHUP reloads, as with nginx and HAProxy; reloads run one at a time, in order, and wait
  // until the server exists.
  let reloading = Promise.resolve();
  signals.onReload(() => {
    reloading = reloading.then(() => ready).then((server) => reload(server, configPath));
  });

  let server;
  try {
    server = await startServer(config);
  } catch (e) {
    if (e instanceof ListenError) {
      errorLog(e.message);
      return 1;
    }
    throw e;
  }
  printListeners(server.listeners);
  started(server);
  const sig = await signals.stopped();
  errorLog(`${sig} received, stopping (up to ${server.shutdownTimeout / 1000}s for requests in flight)`);
  await server.stop();
  return 0;
}

/** Re-reads the config file and applies it; a config that is invalid or cannot be bound leaves the running one in place. */
async function reload(server: RunningServer, configPath: string | null): Promise<void> {
  if (configPath === null) {
    errorLog("SIGHUP received: nothing to reload (started without a config file)");
    return;
  }
  const loaded = await loadConfigFile(configPath);
  if ("errors" in loaded) {
    printConfigErrors(loaded.errors, stderrLine, errorLog);
    errorLog(`reload of "${configPath}" failed: keeping the running configuration`);
    return;
  }
  try {
    await server.reload(loaded.config);
  } catch (e) {
    errorLog(`reload of "${configPath}" failed: ${(e as Error).message}; keeping the running configuration`);
    return;
  }
  errorLog(`reloaded "${configPath}"`);
  printListeners(server.listeners);
}

function printListeners(listeners: BoundListener[]): void {
  for (const l of listeners) {
    process.stdout.write(`ferry: listener "${l.name}" (${l.mode}) listening on ${l.address}\n`);
  }
}

