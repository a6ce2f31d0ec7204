/**
 * Assertions about `ProxyError`s: what a parser or copier refused, and who gets the blame.
 */
import assert from "node:assert/strict";
import { type ErrorKind, ProxyError, type Side } from "../../lib/errors.ts";

export interface Expected {
  kind: ErrorKind;
  /** Checked when given; otherwise the kind's own status is trusted (errors_test checks the map). */
  status?: number;
  side?: Side;
  /** A fragment or pattern the message must contain. */
  message?: string | RegExp;
}

/** Fails unless `e` is a ProxyError matching `want`; returns it for further checks. */
export function assertProxyError(e: unknown, want: Expected, context = ""): ProxyError {
  const where = context ? ` (${context})` : "";
  if (!(e instanceof ProxyError)) {
    assert.fail(`expected a ProxyError of kind ${want.kind}${where}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  assert.equal(e.kind, want.kind, `kind${where}: ${e.message}`);
  if (want.status !== undefined) assert.equal(e.status, want.status, `status${where}`);
  if (want.side !== undefined) assert.equal(e.side, want.side, `side${where}`);
  if (typeof want.message === "string") assert.ok(e.message.includes(want.message), `message ${JSON.stringify(e.message)}${where}`);
  else if (want.message) assert.match(e.message, want.message, `message${where}`);
  return e;
}

/** Runs `fn`, which must throw a ProxyError matching `want`. */
export function throwsProxyError(fn: () => unknown, want: Expected, context = ""): ProxyError {
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    return assertProxyError(e, want, context);
  }
  return assert.fail(`expected a ProxyError of kind ${want.kind}${context ? ` (${context})` : ""}, got ${safeJson(value)}`);
}

/** Awaits `p`, which must reject with a ProxyError matching `want`. */
export async function rejectsProxyError(p: Promise<unknown>, want: Expected, context = ""): Promise<ProxyError> {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    return assertProxyError(e, want, context);
  }
  return assert.fail(`expected a ProxyError of kind ${want.kind}${context ? ` (${context})` : ""}, got ${safeJson(value)}`);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
