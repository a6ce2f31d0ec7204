export type { Candidate, PickContext, Policy, PolicyOptions } from "./policy.ts";
export { RoundRobin } from "./round_robin.ts";
export { LeastConn } from "./least_conn.ts";
export { RandomTwo } from "./random_two.ts";
export { RendezvousHash, rendezvousPick } from "./hash.ts";
export { IpHash } from "./ip_hash.ts";
export { FirstAvailable } from "./first.ts";
export { createPolicy } from "./create_policy.ts";
export { hashKeyOf, type HashKeySource, parseHashKey } from "./hash_key.ts";
