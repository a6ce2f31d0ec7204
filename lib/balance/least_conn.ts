/**
 * `balance: least_conn`: the server with the fewest requests in flight for its weight
 * (nginx's least_conn), so a slow server gets less new work. Loads compare by
 * cross-multiplication, `a.inflight * b.weight < b.inflight * a.weight`, with no division.
 * Ties are broken at random in proportion to weight: always taking the first tied server would
 * pile every burst that arrives while the servers are idle onto it, and an unweighted draw would
 * make weights meaningless on a lightly loaded site, where nearly every pick is a tie of idle
 * servers (nginx breaks these ties by weighted round robin).
 */
import type { Candidate, PickContext, Policy, PolicyOptions } from "./policy.ts";

export class LeastConn<S extends Candidate = Candidate> implements Policy<S> {
  readonly #random: () => number;

  constructor(opts: PolicyOptions = {}) {
    this.#random = opts.random ?? Math.random;
  }

  pick(servers: readonly S[], _ctx: PickContext, exclude?: ReadonlySet<S>): S | null {
    let best: S | null = null;
    /** Total weight of the servers tied with `best` so far. */
    let tiedWeight = 0;
    for (const s of servers) {
      if (!s.available() || exclude?.has(s)) continue;
      const d = best === null ? -1 : s.inflight * best.weight - best.inflight * s.weight;
      if (d < 0) {
        best = s;
        tiedWeight = s.weight;
      } else if (d === 0) {
        // Weighted reservoir sampling: a tied server takes the choice with probability
        // weight / (tied weight so far), which leaves each of the tied servers chosen with
        // probability weight / total tied weight, in one pass.
        tiedWeight += s.weight;
        if (this.#random() * tiedWeight < s.weight) best = s;
      }
    }
    return best;
  }
}
