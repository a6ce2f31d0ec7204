import { ConnError, type ConnErrorCode } from "./types.ts";

const BY_CODE: Record<string, ConnErrorCode> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  ETIMEDOUT: "timeout",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "host unreachable",
  EADDRINUSE: "address in use",
  EADDRNOTAVAIL: "address not available",
  EACCES: "permission denied",
  ENOTFOUND: "name not resolved",
  EAI_NONAME: "name not resolved",
  ConnectionRefused: "connection refused",
  ConnectionReset: "connection reset",
  ConnectionAborted: "connection reset",
  BrokenPipe: "connection reset",
  TimedOut: "timeout",
  TimeoutError: "timeout",
  AddrInUse: "address in use",
  AddrNotAvailable: "address not available",
  PermissionDenied: "permission denied",
  NotConnected: "closed",
  BadResource: "closed",
  Interrupted: "closed",
};

/** Maps whatever a runtime threw (Deno error classes, Bun/POSIX error codes) to a `ConnError`. */
export function toConnError(e: unknown): ConnError {
  if (e instanceof ConnError) return e;
  const err = e as { name?: string; code?: string; message?: string };
  const code = (err?.code && BY_CODE[err.code]) || (err?.name && BY_CODE[err.name]);
  if (code) return new ConnError(code);
  const msg = String(err?.message ?? e);
  if (/refused/i.test(msg)) return new ConnError("connection refused");
  if (/reset|broken pipe/i.test(msg)) return new ConnError("connection reset");
  if (/unreachable/i.test(msg)) return new ConnError("host unreachable");
  if (/in use/i.test(msg)) return new ConnError("address in use");
  if (/failed to lookup|not known|getaddrinfo|dns/i.test(msg)) return new ConnError("name not resolved");
  return new ConnError("other", msg);
}
