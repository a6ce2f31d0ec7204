/**
 * `balance: random_two`: the power of two choices (Mitzenmacher 2001). Draw two distinct servers
 * at random, weighted by weight, and take the one with fewer requests in flight for its weight
 * (the first drawn on a tie, which keeps the idle-time share proportional to weight). Nearly as
 * even as least_conn, but without its herd effect: several proxies with the same stale view of
 * the loads do not all pick the same server.
 */
import type { Candidate, PickContext, Policy, PolicyOptions } from "./policy.ts";

export class RandomTwo<S extends Candidate = Candidate> implements Policy<S> {
  readonly #random: () => number;
  /** The eligible servers of the current pick; reused, and emptied before pick() returns. */
  #eligible: S[] = [];

  constructor(opts: PolicyOptions = {}) {
    this.#random = opts.random ?? Math.random;
  }

  pick(servers: readonly S[], _ctx: PickContext, exclude?: ReadonlySet<S>): S | null {
    // Ask available() once per server: the two draws must see the same set.
    const eligible = this.#eligible;
    let total = 0;
    for (const s of servers) {
      if (!s.available() || exclude?.has(s)) continue;
      eligible.push(s);
      total += s.weight;
    }
    if (eligible.length <= 1) {
      const only = eligible[0] ?? null;
      eligible.length = 0;
      return only;
    }
    const a = this.#draw(eligible, total, null);
    const b = this.#draw(eligible, total - a.weight, a);
    eligible.length = 0;
    return b.inflight * a.weight < a.inflight * b.weight ? b : a;
  }

  /** One server drawn with probability weight / total, never `skip`. */
  #draw(eligible: readonly S[], total: number, skip: S | null): S {
    let r = this.#random() * total;
    let last = eligible[0];
    for (const s of eligible) {
      if (s === skip) continue;
      last = s;
      r -= s.weight;
      if (r < 0) return s;
    }
    // Rounding in `total` can leave r a hair above 0 after the last server.
    return last;
  }
}
