/**
 * ferry's command line: parse flags, load and validate the config, bind, serve, and stop
 * gracefully on SIGTERM/SIGINT. Exit codes: 0 stopped cleanly or --check passed, 1 cannot start
 * (a port in use, say), 2 invalid config or command line.
 */
import process from "node:process";
import pkg from "./package.json" with { type: "json" };
import { HELP_TEXT, parseCli } from "./lib/cli/parse_cli.ts";
import { type Config, type ConfigError, formatConfigError, loadConfigFile, quickConfig } from "./lib/config/mod.ts";
import { errorLog } from "./lib/log/mod.ts";
import { runtime } from "./lib/runtime/mod.ts";
import { type BoundListener, ListenError, type RunningServer, startServer } from "./lib/server/start_server.ts";

/** How long a stop waits for requests in flight before closing their connections. */
const STOP_GRACE_MS = 10_000;

async function main(args: string[]): Promise<number> {
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
    printConfigErrors(loaded.errors);
    return 2;
  }
  if (cmd.kind === "check") {
    process.stdout.write(`${cmd.configPath}: configuration is valid\n`);
    return 0;
  }
  return await run(loaded.config, cmd.kind === "quick" ? null : cmd.configPath);
}

function printConfigErrors(errors: ConfigError[]): void {
  for (const e of errors) process.stderr.write(formatConfigError(e) + "\n");
  const n = errors.length;
  errorLog(`invalid configuration: ${n} problem${n === 1 ? "" : "s"}`);
}

async function run(config: Config, configPath: string | null): Promise<number> {
  // Signal handlers go in before anything is bound: a SIGHUP or SIGTERM that arrives the moment
  // the "listening on" lines are out (a service manager reacting to them) must not meet the
  // default action, which ends the process. Reloads wait until the server exists.
  const stopped = new Promise<string>((resolve) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => resolve(sig));
  });
  let started!: (server: RunningServer) => void;
  const ready = new Promise<RunningServer>((resolve) => (started = resolve));
  // SIGHUP reloads, as with nginx and HAProxy; reloads run one at a time, in order.
  let reloading = Promise.resolve();
  process.on("SIGHUP", () => {
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
  const sig = await stopped;
  errorLog(`${sig} received, stopping (up to ${STOP_GRACE_MS / 1000}s for requests in flight)`);
  await server.stop(STOP_GRACE_MS);
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
    printConfigErrors(loaded.errors);
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

// A bug in one connection's handling must never take the whole proxy down with it.
process.on("unhandledRejection", (reason: unknown) => {
  errorLog(`internal error (unhandled rejection): ${reason instanceof Error ? reason.stack : String(reason)}`);
});
process.on("uncaughtException", (err: Error) => {
  errorLog(`internal error (uncaught exception): ${err?.stack ?? String(err)}`);
});

process.exit(await main(process.argv.slice(2)));
