/**
 * Character classes of RFC 9110 §5.6.2 (token) and §5.5 (field values), as byte tables.
 */

const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** field-vchar / SP / HTAB / obs-text: everything but CTLs (and DEL). */
const FIELD_VALUE_CHAR = new Uint8Array(256);
for (let c = 0x20; c <= 0xff; c++) FIELD_VALUE_CHAR[c] = 1;
FIELD_VALUE_CHAR[0x7f] = 0;
FIELD_VALUE_CHAR[0x09] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !TCHAR[c]) return false;
  }
  return true;
}

/** True when `s` may appear as a field value: no CR, LF, NUL or other control bytes. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !FIELD_VALUE_CHAR[c]) return false;
  }
  return true;
}

/**
 * `s` without leading and trailing OWS (RFC 9110 §5.6.3: SP and HTAB only). Not
 * `String.prototype.trim()`: that also strips U+00A0, which is the obs-text byte 0xA0 here, so
 * `Content-Length: 5<0xA0>` would pass for `5` although it is no valid value.
 */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return s.slice(a, b);
}

/** Visible ASCII only (request-target, RFC 9112 §3.2: no whitespace or control bytes). */
export function isVisibleAscii(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

const asciiDecoder = new TextDecoder();
const asciiEncoder = new TextEncoder();

function isAsciiBytes(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] > 0x7f) return false;
  return true;
}

/**
 * Bytes to a string, one char per byte: header bytes are opaque octets (RFC 9110 §5.5).
 * Not `TextDecoder("latin1")`: WHATWG maps that label to windows-1252, which changes 0x80–0x9F.
 * Pure ASCII (nearly every head) takes the runtime's native UTF-8 decoder, which is the same
 * mapping for those bytes and several times faster than building the string in JS.
 */
export function latin1(b: Uint8Array): string {
  if (isAsciiBytes(b)) return asciiDecoder.decode(b);
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

/** A string whose chars are all < 256 back to the same bytes. */
export function latin1Bytes(s: string): Uint8Array {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return asciiEncoder.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
