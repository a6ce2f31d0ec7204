/**
 * A small cursor over the `yaml` document tree that knows its key path and source offset,
 * so every check can report `file:line:col: path: message` without threading positions by
 * hand. Checks never throw: they record a `ConfigError` and return `undefined`, letting the
 * caller substitute a placeholder and keep going, so one run reports every problem.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import type { ConfigError } from "./config_error.ts";
import { DURATION_FORMS, parseDuration, parseDurationFraction } from "./parse_duration.ts";
import { type AddressUse, parseHostPort } from "./parse_host_port.ts";
import { parseSize, SIZE_FORMS } from "./parse_size.ts";
import type { HostPort } from "./types.ts";

/** Shared state of one validation run: where errors go and how offsets become lines. */
export class Walk {
  readonly errors: ConfigError[] = [];

  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}

  report(offset: number, path: string, message: string): void {
    this.errors.push({ file: this.file, ...this.position(offset), path, message });
  }

  position(offset: number): { line: number; col: number } {
    const { line, col } = this.lines.linePos(offset);
    // linePos answers line 0 before the first newline it saw; that is still line 1 to a person.
    return line === 0 ? { line: 1, col: offset + 1 } : { line, col };
  }

  /** The document root; its `node` is null for an empty document. */
  root(): YamlValue {
    return new YamlValue(this, this.doc.contents, "", 0);
  }
}

/** A YAML value at a key path. `node` is null for an absent value (`key:` with nothing). */
export class YamlValue {
  readonly node: Node | null;
  /** Where errors about this value point: the value itself, or its key when it has none. */
  readonly offset: number;
  /** The name of an alias with no anchor (`host: *.example.com` unquoted), for the message. */
  readonly #unresolvedAlias: string | undefined;

  constructor(readonly walk: Walk, node: unknown, readonly path: string, fallbackOffset: number) {
    let resolved: unknown = node;
    // An alias stands for its anchor's node; report problems where the value was written.
    if (isAlias(resolved)) {
      const alias = resolved;
      resolved = alias.resolve(walk.doc) ?? null;
      if (resolved === null) {
        this.#unresolvedAlias = alias.source;
        fallbackOffset = alias.range?.[0] ?? fallbackOffset;
      }
    }
    this.node = isMap(resolved) || isSeq(resolved) || isScalar(resolved) ? resolved : null;
    this.offset = this.node?.range?.[0] ?? fallbackOffset;
  }

  /** Records an error about this value; returns undefined so checks can `return v.fail(...)`. */
  fail(message: string): undefined {
    this.walk.report(this.offset, this.path, message);
    return undefined;
  }

  /** `got "value"` for messages: the value as written, quoted, or what kind of thing it is. */
  got(): string {
    const node = this.node;
    if (isMap(node)) return node.items.length === 0 ? "got an empty mapping" : "got a mapping";
    if (isSeq(node)) return node.items.length === 0 ? "got an empty list" : "got a list";
    // `host: *.example.com` unquoted: YAML reads a leading "*" as an alias to an anchor.
    const alias = this.#unresolvedAlias;
    if (alias !== undefined) return `got the YAML alias *${alias}, which names no anchor (quote a value that starts with "*": "*${alias}")`;
    if (!isScalar(node) || (node.value === null && !node.source)) return "got nothing";
    return `got ${quote(typeof node.value === "string" ? node.value : (node.source ?? String(node.value)))}`;
  }

  isMap(): boolean {
    return isMap(this.node);
  }

  isList(): boolean {
    return isSeq(this.node);
  }

  /**
   * The value as a mapping. `keys` lists the allowed keys (every other key is reported);
   * `null` allows any key, for user-named entries such as backends and headers.
   */
  map(keys: readonly string[] | null): YamlMap | undefined {
    const node = this.node;
    if (!isMap(node)) return this.fail(`must be a mapping, ${this.got()}`);
    const entries = new Map<string, MapEntry>();
    for (const pair of node.items) {
      const keyNode = pair.key;
      const keyOffset = isScalar(keyNode) ? (keyNode.range?.[0] ?? this.offset) : this.offset;
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
        this.walk.report(keyOffset, this.path, "has a key that is not plain text");
        continue;
      }
      const key = typeof keyNode.value === "string" ? keyNode.value : (keyNode.source ?? String(keyNode.value));
      const path = childPath(this.path, key);
      if (keys !== null && !keys.includes(key)) {
        const message = key === "<<"
          ? `merge keys are not supported, write the keys out`
          : `unknown key, expected one of: ${keys.join(", ")}`;
        this.walk.report(keyOffset, path, message);
        continue;
      }
      entries.set(key, { keyOffset, value: new YamlValue(this.walk, pair.value, path, keyOffset) });
    }
    return new YamlMap(this, entries);
  }

  /** The value as a list of items. */
  list(): YamlValue[] | undefined {
    const node = this.node;
    if (!isSeq(node)) return this.fail(`must be a list, ${this.got()}`);
    return node.items.map((item, i) => new YamlValue(this.walk, item, `${this.path}[${i}]`, this.offset));
  }

  /**
   * The value as text. Numbers count as text in their written form (`name: 2024` is the
   * name "2024"); booleans do not, since `true` as a name or path is more likely a slip.
   */
  text(): string | undefined {
    const node = this.node;
    if (isScalar(node)) {
      if (typeof node.value === "string") return node.value;
      if (typeof node.value === "number") return node.source ?? String(node.value);
    }
    return this.fail(`must be a string, ${this.got()}`);
  }

  /** One of a fixed set of words. */
  oneOf<T extends string>(allowed: readonly T[]): T | undefined {
    const node = this.node;
    if (isScalar(node) && allowed.includes(node.value as T)) return node.value as T;
    return this.fail(`must be one of: ${allowed.join(", ")}, ${this.got()}`);
  }

  /**
   * An integer from a YAML number or a string of digits, within [min, max]. It must be written
   * as plain decimal digits: YAML also reads `2.0`, `1e1`, `0x10`, `0o10`, `+5` and `010` as
   * numbers, and a count written so is more likely a slip than a way of saying 2, 10 or 16.
   */
  int(min: number, max: number): number | undefined {
    const n = this.integer();
    if (n === MISWRITTEN) return this.fail(wholeNumberMessage(Math.min(Math.max(2, min), max), this.got()));
    if (n >= min && n <= max) return n;
    return this.fail(`must be an integer from ${min} to ${max}, ${this.got()}`);
  }

  /** One of a fixed set of integers, such as redirect statuses. */
  intOneOf(allowed: readonly number[]): number | undefined {
    const n = this.integer();
    if (n === MISWRITTEN) return this.fail(wholeNumberMessage(allowed[0], this.got()));
    if (allowed.includes(n)) return n;
    return this.fail(`must be one of: ${allowed.join(", ")}, ${this.got()}`);
  }

  /** True for a value YAML read as a number that is not written as plain decimal digits (`2.0`, `0x10`, `+5`). */
  isMiswrittenNumber(): boolean {
    return isScalar(this.node) && typeof this.node.value === "number" && this.integer() === MISWRITTEN;
  }

  /** True for a string or number: something `text()` accepts. */
  isText(): boolean {
    const node = this.node;
    return isScalar(node) && (typeof node.value === "string" || typeof node.value === "number");
  }

  /**
   * A duration string (`"5s"`) in milliseconds, within [min, max]; `limits` is for the message.
   * A bare `0` needs no unit: it is 0 where 0 is allowed, and out of range elsewhere. The range
   * is judged before wholeness, so `"0.5ms"` where the least is 1ms gets the range.
   */
  duration(min: number, max: number, limits: string): number | undefined {
    const bareZero = this.isText() && this.text() === "0";
    const ms = bareZero ? 0 : this.parsed(parseDurationFraction, DURATION_FORMS);
    if (ms === undefined) return undefined;
    if (ms < min || ms > max) return this.fail(`must be from ${limits}, ${this.got()}`);
    // In range but not whole ("1.5ms"): parseDuration's own message says so.
    return Number.isInteger(ms) ? ms : this.parsed(parseDuration, DURATION_FORMS);
  }

  /**
   * A size string (`"64KiB"`) or plain integer, in bytes, within [min, max]. A plain integer
   * is written in decimal digits, as counts are (`512`, not `0x200` or `5.12e2`).
   */
  size(min: number, max: number, limits: string): number | undefined {
    if (this.isMiswrittenNumber()) {
      return this.fail(`must be a whole number of bytes written in digits, like 512, or a size like "64KiB", ${this.got()}`);
    }
    const bytes = this.parsed(parseSize, SIZE_FORMS);
    if (bytes === undefined || (bytes >= min && bytes <= max)) return bytes;
    return this.fail(`must be from ${limits}, ${this.got()}`);
  }

  /** A `host:port` address. */
  address(use: AddressUse): HostPort | undefined {
    const example = use === "listen" ? '":8080"' : '"127.0.0.1:8080"';
    return this.parsed((text) => parseHostPort(text, use), `a host:port address like ${example}`);
  }

  /** True for a value that is a number, however written (`2`, `"2"`, `2.0`, `-1`): not a word, null or a mapping. */
  isNumber(): boolean {
    return !Number.isNaN(this.integer());
  }

  /**
   * The value as an integer; NaN when it is no number at all, MISWRITTEN when it is one
   * written in some other way than decimal digits. Digit strings count, since `"2"` can only
   * mean 2; a minus sign is kept, so that `-1` gets the range in its message.
   */
  private integer(): number {
    const node = this.node;
    if (!isScalar(node)) return NaN;
    if (typeof node.value === "number") {
      return INTEGER.test(node.source ?? String(node.value)) ? node.value : MISWRITTEN;
    }
    if (typeof node.value !== "string") return NaN;
    if (INTEGER.test(node.value)) return Number(node.value);
    // "010", "2.0", "+5", "0x10" in quotes: still numbers, still not written as digits.
    return /^[+-]?\.?\d/.test(node.value) ? MISWRITTEN : NaN;
  }

  /**
   * Runs one of the string parsers, which throw messages that already quote the value.
   * `forms` says what the value may look like, for one that is no string or number at all
   * (`null`, `true`, a mapping): "must be a string" would be wrong where a number is fine too.
   */
  private parsed<T>(parse: (text: string) => T, forms: string): T | undefined {
    const node = this.node;
    let text: string | undefined;
    if (isScalar(node)) {
      if (typeof node.value === "string") text = node.value;
      else if (typeof node.value === "number") text = node.source ?? String(node.value);
    }
    if (text === undefined) return this.fail(`must be ${forms}, ${this.got()}`);
    try {
      return parse(text);
    } catch (error) {
      return this.fail(error instanceof Error ? error.message : String(error));
    }
  }
}

/** Decimal digits without a leading zero (`0` itself is fine), or a negative one (`-1`, not `-0`). */
const INTEGER = /^(?:0|-?[1-9]\d*)$/;

/** What `integer()` returns for a number not written as plain digits; no real value is -Infinity. */
const MISWRITTEN = -Infinity;

function wholeNumberMessage(example: number, got: string): string {
  return `must be a whole number written in digits, like ${example}, ${got}`;
}

interface MapEntry {
  keyOffset: number;
  value: YamlValue;
}

/** A mapping whose keys were already checked against the allowed set. */
export class YamlMap {
  constructor(readonly self: YamlValue, private readonly byKey: ReadonlyMap<string, MapEntry>) {}

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): YamlValue | undefined {
    return this.byKey.get(key)?.value;
  }

  /** The value of a key that must be present; a missing key is reported at this mapping. */
  require(key: string): YamlValue | undefined {
    const value = this.get(key);
    if (value !== undefined) return value;
    this.self.walk.report(this.self.offset, childPath(this.self.path, key), "required key is missing");
    return undefined;
  }

  /** Where a key was written, for errors about the key rather than its value. */
  keyOffset(key: string): number {
    return this.byKey.get(key)?.keyOffset ?? this.self.offset;
  }

  /** Every key and value, in the order written. */
  entries(): [string, YamlValue][] {
    return [...this.byKey].map(([key, entry]) => [key, entry.value]);
  }
}

/** `parent.key`, or `parent["odd key"]` when the key would make the path ambiguous. */
export function childPath(parent: string, key: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

/** Quotes a value for a message, shortening long ones so the message stays on one line. */
export function quote(text: string): string {
  const max = 60;
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
