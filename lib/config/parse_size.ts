/**
 * Parses a size such as `"64KiB"`, `"1MiB"`, `"512B"` or `"10KB"` into bytes.
 *
 * `KiB`/`MiB`/`GiB` are powers of 1024, `KB`/`MB`/`GB` powers of 1000, as their names say;
 * units are case-sensitive so that `"10Kb"` (kilobits?) is not silently read as bytes.
 * A bare integer (`"512"`) means bytes, matching a plain YAML integer; like one, it is
 * written without leading zeros (`"010"` is an error, not 10 or 8).
 *
 * @throws {RangeError} with a message like `unknown unit "kb" (use B, KB, KiB, ...), got "10kb"`.
 */
export function parseSize(text: string): number {
  const got = `got ${JSON.stringify(text)}`;
  const match = /^(\d+)(?: ?([A-Za-z]+))?$/.exec(text);
  if (match === null) {
    if (text.startsWith("-")) throw new RangeError(`must not be negative, ${got}`);
    throw new RangeError(`must be ${SIZE_FORMS}, ${got}`);
  }
  const [, amount, unit = ""] = match;
  if (unit === "" && /^0\d/.test(amount)) {
    throw new RangeError(`must be a whole number of bytes written in digits, like 512, or a size like "64KiB", ${got}`);
  }
  const factor = unit === "" ? 1 : UNITS.get(unit);
  if (factor === undefined) {
    const names = [...UNITS.keys()].join(", ");
    throw new RangeError(`unknown unit "${unit}" (use ${names}), ${got}`);
  }
  const bytes = Number(amount) * factor;
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`is too large, ${got}`);
  return bytes;
}

/** What a size looks like, for messages about a value that is none: a plain integer is one too. */
export const SIZE_FORMS = 'a size like "64KiB" or a number of bytes';

const UNITS: ReadonlyMap<string, number> = new Map([
  ["B", 1],
  ["KB", 1000],
  ["KiB", 1024],
  ["MB", 1000 ** 2],
  ["MiB", 1024 ** 2],
  ["GB", 1000 ** 3],
  ["GiB", 1024 ** 3],
]);
