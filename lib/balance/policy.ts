/**
 * The selection-policy interface: every balancing policy is one file in this folder that
 * implements `Policy`, and asks each server only `available()`, `weight` and `inflight`.
 */

/** What a policy may know about a server. */
export interface Candidate {
  readonly address: string;
  readonly weight: number;
  readonly inflight: number;
  available(): boolean;
}

/** Facts about the request a policy may use (hash keys, client address). */
export interface PickContext {
  clientAddr?: string;
}

export interface Policy<S extends Candidate = Candidate> {
  /**
   * Picks one available server, or null when none is available. `exclude` holds servers
   * already tried for this request (retries must go elsewhere when they can).
   */
  pick(servers: readonly S[], ctx: PickContext, exclude?: ReadonlySet<S>): S | null;
}
