/**
 * Smooth weighted round robin (the algorithm of nginx's upstream module): each pick adds every
 * server's weight to its running score, takes the highest, and subtracts the total from the
 * winner. Weights 5:1:1 give a a b a c a a rather than a burst of five a's in a row. Nothing
 * needs integers, so fractional weights (slow start) work unchanged.
 */
import type { Candidate, PickContext, Policy, PolicyOptions } from "./policy.ts";

export class RoundRobin<S extends Candidate = Candidate> implements Policy<S> {
  // Weak: a server dropped from the list (re-resolved DNS name, reload) takes its score with it.
  #score = new WeakMap<S, number>();

  constructor(_opts: PolicyOptions = {}) {}

  pick(servers: readonly S[], _ctx: PickContext, exclude?: ReadonlySet<S>): S | null {
    let best: S | null = null;
    let bestScore = -Infinity;
    let total = 0;
    for (const s of servers) {
      if (!s.available() || exclude?.has(s)) continue;
      const score = (this.#score.get(s) ?? 0) + s.weight;
      this.#score.set(s, score);
      total += s.weight;
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    if (best) this.#score.set(best, bestScore - total);
    return best;
  }
}
