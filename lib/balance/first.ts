/**
 * `balance: first`: the first available, non-excluded server in list order (HAProxy's
 * `balance first`). With `max_conns` a full server is not available, so traffic fills the
 * servers one after another and the later ones can be scaled down while idle; without limits
 * the first server takes everything and the rest stand by. Weights do not apply.
 */
import type { Candidate, PickContext, Policy, PolicyOptions } from "./policy.ts";

export class FirstAvailable<S extends Candidate = Candidate> implements Policy<S> {
  constructor(_opts: PolicyOptions = {}) {}

  pick(servers: readonly S[], _ctx: PickContext, exclude?: ReadonlySet<S>): S | null {
    for (const s of servers) if (s.available() && !exclude?.has(s)) return s;
    return null;
  }
}
