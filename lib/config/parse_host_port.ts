import { HOSTNAME, IPV6 } from "./_patterns.ts";
import type { HostPort } from "./types.ts";

/**
 * What the address is for: a `listen` address may omit the host (`":8080"` = all IPv4
 * interfaces) and use port 0 (any free port); a `server` address needs both a host and a
 * real port, since something has to be dialled.
 */
export type AddressUse = "listen" | "server";

/**
 * Parses `"host:port"`, `"[v6]:port"` or, for listen addresses, `":port"`.
 *
 * IPv6 literals must be bracketed, as in URLs: without brackets `::1:8080` has no
 * unambiguous port.
 *
 * @throws {RangeError} with a message like `needs a port, like "localhost:8080", got "localhost"`.
 */
export function parseHostPort(text: string, use: AddressUse): HostPort {
  const got = `got ${JSON.stringify(text)}`;
  const example = use === "listen" ? `":8080"` : `"127.0.0.1:8080"`;

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
  } else if (!HOSTNAME.test(hostname)) {
    throw new RangeError(`has an invalid host name or IP address, ${got}`);
  }

  const low = use === "listen" ? 0 : 1;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= low && port <= 65535)) {
    const what = portText === "" ? "needs a port" : `must have a port from ${low} to 65535`;
    throw new RangeError(`${what}, like ${example}, ${got}`);
  }
  return { hostname, port };
}
