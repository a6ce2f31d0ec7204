/**
 * The deterministic string hash behind `hash` and `ip_hash`: bryc's public-domain cyrb53 (two
 * 32-bit multiply-xor lanes folded together by murmur3-style finalisers, 53 bits out). Only
 * `Math.imul`, xor and shifts on UTF-16 code units, so every runtime, process and version computes
 * the same value: two ferry instances with the same config must send a key to the same server,
 * and a restart must not reshuffle sessions.
 */

/** The two lanes after some input, before finalising. */
export interface HashState {
  readonly h1: number;
  readonly h2: number;
}

const SEED1 = 0xdeadbeef;
const SEED2 = 0x41c6ce57;
/**
 * Fed between a key and a server address: no UTF-16 code unit equals it, so the pair encodes
 * injectively ("ab" + "c" and "a" + "bc" hash apart).
 */
const SEPARATOR = 0x10000;
const TWO_POW_32 = 4294967296;
const TWO_POW_52 = 4503599627370496;

function feed(h1: number, h2: number, text: string): HashState {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  return { h1, h2 };
}

function finish(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return TWO_POW_32 * (h2 & 0x1fffff) + (h1 >>> 0);
}

/** cyrb53 of `text` (seed 0): an integer in [0, 2^53). */
export function hash53(text: string): number {
  const s = feed(SEED1, SEED2, text);
  return finish(s.h1, s.h2);
}

/** The state after `key` and the separator, to be continued once per server by `pairUnit`. */
export function keyState(key: string): HashState {
  const s = feed(SEED1, SEED2, key);
  return {
    h1: Math.imul(s.h1 ^ SEPARATOR, 2654435761),
    h2: Math.imul(s.h2 ^ SEPARATOR, 1597334677),
  };
}

/**
 * The hash of (key, `text`) as a double strictly inside (0, 1), so `Math.log` of it is finite
 * and negative. 52 of the 53 bits plus one half: 2^52 - 0.5 still fits a double's mantissa,
 * where 2^53 - 0.5 would round up to 1.
 */
export function pairUnit(key: HashState, text: string): number {
  // feed() inlined: this runs once per server per request, so no state object.
  let h1 = key.h1;
  let h2 = key.h2;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  return (Math.floor(finish(h1, h2) / 2) + 0.5) / TWO_POW_52;
}
