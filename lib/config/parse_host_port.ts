import { HOSTNAME, IPV4, IPV6, SPACE_OR_CONTROL } from "./_patterns.ts";
import type { HostPort } from "./types.ts";

/**
 * What the address is for: a `listen` address may omit the host (`":8080"` = all IPv4
 * interfaces), use an unspecified address (`0.0.0.0`, `[::]`) and port 0 (any free port); a
 * `server` address needs a real host and port, since something has to be dialled.
 */
export type AddressUse = "listen" | "server";

/**
 * Parses `"host:port"`, `"[v6]:port"` or, for listen addresses, `":port"`.
 *
 * IPv6 literals must be bracketed, as in URLs: without brackets `::1:8080` has no
 * unambiguous port. A host made only of numbers and dots must be a valid dotted-quad IPv4
 * address: the system resolver would read `127.1` or `0x7f.0.0.1` as an address of its own
 * making, and `300.1.1.1` as a name to look up. A name may end in a dot (`app.internal.`).
 *
 * @throws {RangeError} with a message like `needs a port, like "localhost:8080", got "localhost"`.
 */
export function parseHostPort(text: string, use: AddressUse): HostPort {
  const got = `got ${JSON.stringify(text)}`;
  const example = use === "listen" ? `":8080"` : `"127.0.0.1:8080"`;

  if (SPACE_OR_CONTROL.test(text)) {
    throw new RangeError(`must not contain spaces or control characters, ${got}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new RangeError(`must be host:port without a scheme, like ${example}, ${got}`);
  }
  const colon = text.lastIndexOf(":");
  if (colon === -1) {
    // A listen address may leave out the host; something to connect to may not.
    const host = use === "listen" ? "" : "127.0.0.1";
    const hint = /^\d+$/.test(text) ? `"${host}:${text}"` : `"${text || host}:8080"`;
    throw new RangeError(`needs a port, like ${hint}, ${got}`);
  }

  let hostname = text.slice(0, colon);
  const portText = text.slice(colon + 1);

  if (hostname.startsWith("[")) {
    if (!hostname.endsWith("]")) {
      throw new RangeError(`has an unclosed "[" around the IPv6 address, ${got}`);
    }
    hostname = hostname.slice(1, -1);
    if (!IPV6.test(hostname)) throw new RangeError(`has an invalid IPv6 address, ${got}`);
  } else if (hostname.includes(":")) {
    throw new RangeError(`needs brackets around an IPv6 address, like "[::1]:8080", ${got}`);
  } else if (hostname === "") {
    if (use === "server") throw new RangeError(`needs a host, like "127.0.0.1:8080", ${got}`);
    hostname = "0.0.0.0";
  } else if (!HOSTNAME.test(hostname.endsWith(".") ? hostname.slice(0, -1) : hostname)) {
    throw new RangeError(`has an invalid host name or IP address, ${got}`);
  } else if (looksLikeIpv4(hostname) && !IPV4.test(hostname)) {
    throw new RangeError(`has an invalid IPv4 address (four numbers from 0 to 255, without leading zeros), ${got}`);
  }

  if (use === "server" && isUnspecified(hostname)) {
    throw new RangeError(`must name a server, not the unspecified address "${hostname}" (listen only), like ${example}, ${got}`);
  }

  const low = use === "listen" ? 0 : 1;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= low && port <= 65535)) {
    const what = portText === "" ? "needs a port" : `must have a port from ${low} to 65535`;
    throw new RangeError(`${what}, like ${example}, ${got}`);
  }
  return { hostname, port };
}

/**
 * The host as one server is known by: case and a final dot make no difference to DNS
 * (`App.Test.` and `app.test` are one name), so two entries that differ only so are one server.
 */
export function hostKey(hostname: string): string {
  const h = hostname.toLowerCase();
  return h.endsWith(".") && !h.includes(":") ? h.slice(0, -1) : h;
}

/**
 * Numbers and dots only (decimal, or `0x` hex as `inet_aton` reads them): meant as an IPv4
 * address, never a name, since no top-level domain is all digits (RFC 3696 §2).
 */
function looksLikeIpv4(hostname: string): boolean {
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  return name.split(".").every((label) => /^(?:\d+|0x[0-9a-f]*)$/i.test(label));
}

/** `0.0.0.0`, `::` and the other spellings of the IPv6 all-zeros address. */
function isUnspecified(hostname: string): boolean {
  if (hostname === "0.0.0.0") return true;
  const v6 = hostname.replace(/%.*$/, "");
  return v6.includes(":") && /^[0:.]+$/.test(v6);
}
