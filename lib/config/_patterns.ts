/** Text patterns shared by the address parser and the validator. */

/** Letters, digits, `-` and `_` in dot-separated labels; IPv4 literals match too. */
export const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_][a-z0-9_-]{0,62}(?:\.[a-z0-9_][a-z0-9_-]{0,62})*$/i;

/** Loose on purpose (the OS has the last word), but rejects what is clearly not IPv6. */
export const IPV6 = /^(?=.*:)[0-9a-f:.]{2,45}(?:%[a-z0-9_.-]+)?$/i;

/** A header field name: an RFC 9110 `token`. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Listener and backend names: they show up in logs, so keep them to one plain word. */
export const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Whitespace or a control character: never valid in a path or a Location target. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
export const SPACE_OR_CONTROL = /[\s\x00-\x1f\x7f]/;

/** A dotted-quad IPv4 literal. */
export const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
