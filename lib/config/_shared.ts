/** Small readers used by more than one part of the validator. */
import { NAME } from "./_patterns.ts";
import { quote, type YamlValue } from "./_yaml_value.ts";
import type { ListenerMode } from "./types.ts";

/** A place that names a backend, checked once all backends are known. */
export interface BackendRef {
  name: string;
  at: YamlValue;
  /** The mode of the listener the reference is in: what kind of traffic reaches the backend through it. */
  mode: ListenerMode;
}

/**
 * A backend setting that only HTTP traffic can use, checked once it is known which listeners
 * send traffic to the backend: on a backend that only tcp listeners use, it would be silently
 * ignored.
 */
export interface HttpOnlySetting {
  backend: string;
  at: YamlValue;
  /** Why TCP cannot use it, for the message: `cookies need HTTP`. */
  why: string;
}

/**
 * Longest accepted timeout. Timers in V8 and JavaScriptCore hold 32-bit milliseconds and
 * fire at once when given more (about 24.8 days), so a larger value would silently become
 * "no wait at all". 596h is the largest whole number of hours below that.
 */
export const MAX_TIMEOUT_MS = 596 * 3_600_000;

export function readTimeout(value: YamlValue | undefined): number | undefined {
  return value?.duration(1, MAX_TIMEOUT_MS, "1ms to 596h");
}

export function readName(value: YamlValue | undefined): string | undefined {
  const name = value?.text();
  if (name === undefined || isValidName(name)) return name;
  return value!.fail(nameMessage(name));
}

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function nameMessage(name: string): string {
  return `must be 1 to 64 letters, digits, "_", "-" or ".", got ${quote(name)}`;
}
