/** Picks the adapter for the runtime ferry runs on; the only runtime switch in the code base. */
import type { Runtime } from "./types.ts";

export type { Addr, Conn, ConnectOptions, ConnErrorCode, Listener, ListenOptions, Runtime } from "./types.ts";
export { ConnError } from "./types.ts";

export const runtime: Runtime = "Bun" in globalThis
  ? (await import("./bun.ts")).bunRuntime
  : (await import("./deno.ts")).denoRuntime;
