export type { Candidate, PickContext, Policy } from "./policy.ts";
export { RoundRobin } from "./round_robin.ts";
export { createPolicy } from "./create_policy.ts";
