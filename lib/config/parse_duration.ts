/**
 * Parses a duration such as `"5s"`, `"250ms"`, `"1m30s"` or `"1.5s"` into milliseconds.
 *
 * Units are `h`, `m`, `s` and `ms`; several may be combined, each at most once and largest
 * first, so a typo like `"1m1m"` is caught rather than summed. A bare number is rejected
 * because `timeout: 30` is ambiguous (seconds? milliseconds?).
 *
 * @throws {RangeError} with a message like `needs a unit, like "5s" or "5ms", got "5"`.
 */
export function parseDuration(text: string): number {
  const got = `got ${JSON.stringify(text)}`;
  const total = parseDurationFraction(text);
  if (!Number.isInteger(total)) {
    throw new RangeError(`must be a whole number of milliseconds, ${got}`);
  }
  if (!Number.isSafeInteger(total)) throw new RangeError(`is too large, ${got}`);
  return total;
}

/**
 * Like `parseDuration`, but keeps a fraction of a millisecond (`"0.5ms"` is 0.5) and any
 * size, for a caller that judges the range first: to someone who wrote `"0.5ms"` where the
 * least allowed is 1ms, the range is the useful answer, not that 0.5 is not whole.
 *
 * @throws {RangeError} for text that is no duration at all, like `parseDuration`.
 */
export function parseDurationFraction(text: string): number {
  const got = `got ${JSON.stringify(text)}`;
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new RangeError(`needs a unit, like "${text}s" or "${text}ms", ${got}`);
  }
  if (text.startsWith("-")) throw new RangeError(`must not be negative, ${got}`);
  if (!/^(\d+(\.\d+)?[a-z]+)+$/i.test(text)) {
    throw new RangeError(`must be ${DURATION_FORMS}, ${got}`);
  }

  let total = 0;
  let previous = -1;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)([a-z]+)/gi)) {
    const index = UNITS.findIndex(([name]) => name === unit);
    if (index === -1) {
      throw new RangeError(`unknown unit "${unit}" (use h, m, s or ms), ${got}`);
    }
    if (index <= previous) {
      throw new RangeError(`must use each unit once, largest first, like "1m30s", ${got}`);
    }
    previous = index;
    total += Number(amount) * UNITS[index][1];
  }
  // Floating point: "0.1s" is 100.00000000000001 before rounding to the nearest microsecond.
  return Math.round(total * 1000) / 1000;
}

/** What a duration looks like, for messages about a value that is none. */
export const DURATION_FORMS = 'a duration like "5s", "250ms" or "1m30s"';

/** Largest first: the order a combined duration must follow. */
const UNITS: readonly (readonly [string, number])[] = [
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1],
];
