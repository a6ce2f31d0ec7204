import type { BalanceName } from "../config/types.ts";
import type { Candidate, Policy } from "./policy.ts";
import { RoundRobin } from "./round_robin.ts";

/** The policy named by `balance:` in a backend's config. */
export function createPolicy<S extends Candidate>(name: BalanceName): Policy<S> {
  switch (name) {
    case "round_robin":
      return new RoundRobin<S>();
  }
}
