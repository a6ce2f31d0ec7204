import type { BalanceName } from "../config/types.ts";
import type { Candidate, Policy, PolicyOptions } from "./policy.ts";
import { RoundRobin } from "./round_robin.ts";
import { LeastConn } from "./least_conn.ts";
import { RandomTwo } from "./random_two.ts";
import { RendezvousHash } from "./hash.ts";
import { IpHash } from "./ip_hash.ts";
import { FirstAvailable } from "./first.ts";

/** The policy named by `balance:` in a backend's config. */
export function createPolicy<S extends Candidate>(name: BalanceName, opts: PolicyOptions = {}): Policy<S> {
  switch (name) {
    case "round_robin":
      return new RoundRobin<S>(opts);
    case "least_conn":
      return new LeastConn<S>(opts);
    case "random_two":
      return new RandomTwo<S>(opts);
    case "hash":
      return new RendezvousHash<S>(opts);
    case "ip_hash":
      return new IpHash<S>(opts);
    case "first":
      return new FirstAvailable<S>(opts);
    default: {
      // A new BalanceName without a case here fails to type-check.
      const unknown: never = name;
      throw new Error(`cannot create balance policy "${unknown}": unknown name`);
    }
  }
}
