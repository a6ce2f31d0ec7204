export { AccessLog, type AccessEntry, accessLogProblem, clfDate, errorLog, formatAccessLine } from "./access_log.ts";
