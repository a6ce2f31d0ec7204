/**
 * Routing: which route answers a request, by host then path.
 *
 * Host: an exact name beats a wildcard (`*.example.com`, matching one or more labels in front
 * of `example.com`, not `example.com` itself), a longer wildcard beats a shorter one, and any
 * of them beats a route without host. Path: the longest matching prefix wins, where a prefix
 * matches whole segments only: `/v1` matches `/v1`, `/v1/` and `/v1/users`, not `/v1x`
 * (a prefix that ends in `/` matches everything below it). When the most specific host has no
 * route for the path, less specific hosts are tried, so a catch-all route still catches.
 */
import type { RouteConfig } from "../config/types.ts";
import { normalizePath } from "./normalize_path.ts";

interface Compiled {
  route: RouteConfig;
  hostRank: number;
  matchHost: (host: string) => boolean;
}

export class Router {
  #routes: Compiled[];

  constructor(routes: readonly RouteConfig[]) {
    this.#routes = routes.map((route) => compile(route));
  }

  /**
   * The route for `host` (lowercase, no port) and `rawPath` (as received, no query), or null.
   * The path is normalised first (`normalize_path.ts`), so encodings cannot dodge a route.
   */
  match(host: string, rawPath: string): RouteConfig | null {
    const path = normalizePath(rawPath);
    let best: Compiled | null = null;
    let bestPath = -1;
    for (const c of this.#routes) {
      if (!c.matchHost(host) || !pathMatches(c.route.path, path)) continue;
      if (
        !best || c.hostRank > best.hostRank ||
        (c.hostRank === best.hostRank && c.route.path.length > bestPath)
      ) {
        best = c;
        bestPath = c.route.path.length;
      }
    }
    return best?.route ?? null;
  }
}

function compile(route: RouteConfig): Compiled {
  const h = route.host;
  if (h === undefined) return { route, hostRank: 0, matchHost: () => true };
  if (h.startsWith("*.")) {
    const suffix = h.slice(1); // ".example.com"
    return {
      route,
      hostRank: suffix.length,
      matchHost: (host) => host.length > suffix.length && host.endsWith(suffix),
    };
  }
  // Exact names outrank every wildcard, however long. An IPv6 literal is configured with its
  // brackets ("[::1]", RFC 3986 §3.2.2) but matched against `hostOf()`, which drops them.
  const exact = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  return { route, hostRank: 1_000_000, matchHost: (host) => host === exact };
}

export function pathMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || prefix === path) return true;
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith("/") || path.charCodeAt(prefix.length) === 0x2f;
}
