export { AccessLog, type AccessEntry, clfDate, errorLog, formatAccessLine } from "./access_log.ts";
