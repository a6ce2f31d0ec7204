/**
 * The selection-policy interface: every balancing policy is one file in this folder that
 * implements `Policy`, and asks each server only `available()`, `weight` and `inflight`
 * (Caddy's `Selector` habit: a server that is down, draining or full is simply not available).
 */

/** What a policy may know about a server. */
export interface Candidate {
  /** Stable identity (`ip:port`): hash policies hash it, so equal configs pick alike. */
  readonly address: string;
  /** Current relative share, > 0 (may be fractional while a server is in slow start). */
  readonly weight: number;
  /** Requests (or tunnels) in flight to this server now. */
  readonly inflight: number;
  available(): boolean;
}

/** Facts about the request a policy may use. */
export interface PickContext {
  /** The client's IP address (`ip_hash`). */
  clientAddr?: string;
  /** The request's `hash_key` value (`hash`); undefined when the request has none. */
  hashKey?: string;
}

export interface Policy<S extends Candidate = Candidate> {
  /**
   * Picks one available server, or null when none is available. `exclude` holds servers
   * already tried for this request (retries must go elsewhere when they can).
   */
  pick(servers: readonly S[], ctx: PickContext, exclude?: ReadonlySet<S>): S | null;
}

/** Options every policy constructor accepts. */
export interface PolicyOptions {
  /** Source of randomness in [0, 1) (tie-breaks, random_two); tests pass a seeded one. Default Math.random. */
  random?: () => number;
}
