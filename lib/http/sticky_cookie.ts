/**
 * Sticky sessions by cookie (HAProxy's `cookie SRV insert`): the response names the server that
 * answered in a cookie, and a later request carrying it goes back to that server while it is
 * available. The value is the server's opaque id, never its address.
 */
import { hashKeyOf } from "../balance/hash_key.ts";
import type { RequestHead } from "./parse_request.ts";

/** The server id the request's sticky cookie names, if it has one. */
export function stickyIdOf(req: RequestHead, cookie: string): string | undefined {
  return hashKeyOf({ from: "cookie", name: cookie }, req);
}

/**
 * The Set-Cookie field for a response from the server `id`. A session cookie (no Max-Age) for the
 * whole site; HttpOnly because scripts have no business with it (RFC 6265 §4.1.2.6); SameSite=Lax
 * so that it still comes along on top-level navigations.
 */
export function stickyCookieField(cookie: string, id: string): [string, string] {
  return ["Set-Cookie", `${cookie}=${id}; Path=/; HttpOnly; SameSite=Lax`];
}
