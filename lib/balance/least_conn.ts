/**
 * `balance: least_conn`: the server with the fewest requests in flight for its weight
 * (nginx's least_conn), so a slow server gets less new work. Loads compare by
 * cross-multiplication, `a.inflight * b.weight < b.inflight * a.weight`, with no division;
 * ties are broken uniformly at random, since always taking the first tied server would pile
 * every burst that arrives while the servers are idle onto it.
 */
import type { Candidate, PickContext, Policy, PolicyOptions } from "./policy.ts";

export class LeastConn<S extends Candidate = Candidate> implements Policy<S> {
  readonly #random: () => number;

  constructor(opts: PolicyOptions = {}) {
    this.#random = opts.random ?? Math.random;
  }

  pick(servers: readonly S[], _ctx: PickContext, exclude?: ReadonlySet<S>): S | null {
    let best: S | null = null;
    let ties = 0;
    for (const s of servers) {
      if (!s.available() || exclude?.has(s)) continue;
      if (best === null) {
        best = s;
        ties = 1;
        continue;
      }
      const d = s.inflight * best.weight - best.inflight * s.weight;
      if (d < 0) {
        best = s;
        ties = 1;
      } else if (d === 0) {
        // Reservoir sampling: the k-th tied server replaces the choice with probability 1/k,
        // which leaves each of the k equally likely in one pass.
        ties++;
        if (this.#random() * ties < 1) best = s;
      }
    }
    return best;
  }
}
