/**
 * `balance: hash`: rendezvous (highest-random-weight) hashing on the request's `hash_key`.
 * Every server gets a score from hash(key, address) and its weight, and the highest wins, so
 * the choice depends only on the key and the server set: no state, no seed, no ring. Adding or
 * removing a server moves only the keys that it wins or won (Thaler & Ravishankar 1998), and a
 * server that is skipped (down, full, or already tried) sends each of its keys to that key's
 * runner-up, which is again the same for every request with that key.
 */
import { keyState, pairUnit } from "./_hash64.ts";
import type { Candidate, PickContext, Policy, PolicyOptions } from "./policy.ts";
import { RoundRobin } from "./round_robin.ts";

/**
 * The available, non-excluded server with the highest weighted score for `key`, or null.
 * Score = -weight / ln(u), u = hash(key, address) in (0, 1): the "logarithmic method" of
 * weighted rendezvous hashing (Schindelhauer & Schomaker 2005), under which a server wins a
 * share of keys exactly proportional to its weight, and a weight change (slow start) moves only
 * keys to or from that server.
 */
export function rendezvousPick<S extends Candidate>(
  servers: readonly S[],
  key: string,
  exclude?: ReadonlySet<S>,
): S | null {
  const state = keyState(key);
  let best: S | null = null;
  let bestScore = -Infinity;
  for (const s of servers) {
    if (!s.available() || exclude?.has(s)) continue;
    const score = -s.weight / Math.log(pairUnit(state, s.address));
    // A tie goes to the smaller address rather than to list order, so instances that list the
    // same servers in another order still agree.
    if (score > bestScore || (score === bestScore && best !== null && s.address < best.address)) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

export class RendezvousHash<S extends Candidate = Candidate> implements Policy<S> {
  // A request without a key is spread like any other rather than all sent to one server
  // (HAProxy's `balance hdr()` falls back to round robin the same way).
  #fallback = new RoundRobin<S>();

  constructor(_opts: PolicyOptions = {}) {}

  /** What this policy hashes; `ip_hash` overrides it. */
  protected keyOf(ctx: PickContext): string | undefined {
    return ctx.hashKey;
  }

  pick(servers: readonly S[], ctx: PickContext, exclude?: ReadonlySet<S>): S | null {
    const key = this.keyOf(ctx);
    if (key === undefined) return this.#fallback.pick(servers, ctx, exclude);
    return rendezvousPick(servers, key, exclude);
  }
}
