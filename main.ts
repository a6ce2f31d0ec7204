/**
 * ferry's entry point. Signals are caught before anything else loads (a reload or stop sent
 * while ferry starts is kept, not fatal); then the command line runs (lib/cli/run_cli.ts).
 */
import process from "node:process";
import { Signals } from "./lib/cli/signals.ts";

const signals = new Signals();
const { errorLog } = await import("./lib/log/mod.ts");

// A bug in one connection's handling must never take the whole proxy down with it.
process.on("unhandledRejection", (reason: unknown) => {
  errorLog(`internal error (unhandled rejection): ${reason instanceof Error ? reason.stack : String(reason)}`);
});
process.on("uncaughtException", (err: Error) => {
  errorLog(`internal error (uncaught exception): ${err?.stack ?? String(err)}`);
});

const { runCli } = await import("./lib/cli/run_cli.ts");
process.exit(await runCli(process.argv.slice(2), signals));
