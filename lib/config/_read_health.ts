/** Reads a backend's `health:` (active checks) and `passive:` (failures on real traffic) settings. */
import { readTimeout } from "./_shared.ts";
import type { YamlValue } from "./_yaml_value.ts";
import { DEFAULTS, type HealthConfig, type PassiveHealthConfig } from "./types.ts";

const HEALTH_KEYS = ["type", "path", "host", "expect_status", "interval", "timeout", "rise", "fall"];
const PASSIVE_KEYS = ["max_fails", "fail_timeout", "fail_status"];
const HEALTH_TYPES = ["http", "tcp"] as const;

export function readHealth(value: YamlValue | undefined): HealthConfig | undefined {
  if (value === undefined) return undefined;
  const map = value.map(HEALTH_KEYS);
  const d = DEFAULTS.health;
  const type = map?.get("type")?.oneOf(HEALTH_TYPES) ?? d.type;
  if (type === "tcp") {
    for (const key of ["path", "host", "expect_status"]) map?.get(key)?.fail("only applies to type: http");
  }
  const path = type === "tcp" ? undefined : map?.get("path");
  const pathText = path?.text();
  if (pathText !== undefined && !/^\/[\x21-\x7e]*$/.test(pathText)) {
    path!.fail(`must start with "/" and contain no spaces or control characters, ${path!.got()}`);
  }
  const host = type === "tcp" ? undefined : map?.get("host");
  const hostText = host?.text();
  if (hostText !== undefined && !/^[\x21-\x7e]+$/.test(hostText)) host!.fail(`must be a host name without spaces, ${host!.got()}`);
  const health: HealthConfig = {
    type,
    path: pathText ?? d.path,
    expect_status: (type === "tcp" ? undefined : readStatusRanges(map?.get("expect_status"))) ?? d.expect_status,
    interval: readTimeout(map?.get("interval")) ?? d.interval,
    timeout: readTimeout(map?.get("timeout")) ?? d.timeout,
    rise: map?.get("rise")?.int(1, 100) ?? d.rise,
    fall: map?.get("fall")?.int(1, 100) ?? d.fall,
  };
  if (hostText !== undefined) health.host = hostText;
  return health;
}

export function readPassive(value: YamlValue | undefined): PassiveHealthConfig {
  const map = value?.map(PASSIVE_KEYS);
  const d = DEFAULTS.passive;
  const maxFails = map?.get("max_fails")?.int(0, 1000);
  const failTimeout = readTimeout(map?.get("fail_timeout"));
  const passive: PassiveHealthConfig = {
    max_fails: maxFails ?? d.max_fails,
    fail_timeout: failTimeout ?? d.fail_timeout,
    fail_status: readFailStatus(map?.get("fail_status")),
  };
  // max_fails: 0 turns passive checks off: settings for them would be silently ignored.
  if (maxFails === 0) {
    if (failTimeout !== undefined) map?.get("fail_timeout")?.fail("has no effect with max_fails: 0");
    if (passive.fail_status.length > 0) map?.get("fail_status")?.fail("has no effect with max_fails: 0");
  }
  return passive;
}

/** Statuses (an empty list is allowed: none, the default), sorted, each once. */
function readFailStatus(value: YamlValue | undefined): number[] {
  if (value === undefined || (value.isList() && value.list()?.length === 0)) return [...DEFAULTS.passive.fail_status];
  const all = (readStatusRanges(value) ?? []).flatMap(([lo, hi]) => range(lo, hi));
  return [...new Set(all)].sort((a, b) => a - b);
}

const STATUS_FORMS = 'a status (100 to 599), a range like "200-399" or a class like "2xx"';

/** `200`, `"200-399"`, `"2xx"`, or a list of those, as inclusive ranges of statuses 100..599. */
function readStatusRanges(value: YamlValue | undefined): [number, number][] | undefined {
  if (value === undefined) return undefined;
  if (!value.isList() && !value.isText()) {
    return value.fail(`must be a status, a range, a class or a list of those, ${value.got()}`);
  }
  const items = value.isList() ? value.list() ?? [] : [value];
  if (items.length === 0) return value.fail(`must list at least one status, ${value.got()}`);
  const ranges: [number, number][] = [];
  for (const item of items) {
    // A list in a list, a mapping, true: say what an item may be, not only that it is no string.
    if (!item.isText()) {
      item.fail(`must be ${STATUS_FORMS}, ${item.got()}`);
      continue;
    }
    if (item.isMiswrittenNumber()) {
      item.fail(`must be a whole number written in digits, like 200, ${item.got()}`);
      continue;
    }
    const parsed = parseStatusRange(item.text()!);
    if (parsed === undefined) item.fail(`must be ${STATUS_FORMS}, ${item.got()}`);
    else ranges.push(parsed);
  }
  return ranges;
}

function parseStatusRange(text: string): [number, number] | undefined {
  let m = /^([1-5])xx$/i.exec(text);
  if (m) return [Number(m[1]) * 100, Number(m[1]) * 100 + 99];
  m = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(text);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo >= 100 && hi <= 599 && lo <= hi ? [lo, hi] : undefined;
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
