export { ActiveChecker, type HealthTarget } from "./active_checker.ts";
export { HealthState } from "./health_state.ts";
export { PassiveHealth } from "./passive_health.ts";
export { describeRanges, type HttpProbeOptions, probeHttp } from "./probe_http.ts";
export type { ProbeResult, ProbeTarget } from "./probe_result.ts";
export { probeTcp } from "./probe_tcp.ts";
