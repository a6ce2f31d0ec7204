/**
 * The config layer: YAML text or command-line flags in, a validated `Config` out.
 *
 * @module
 */
export * from "./types.ts";
export { type ConfigError, formatConfigError } from "./config_error.ts";
export { loadConfig, loadConfigFile } from "./load_config.ts";
export { readConfigFile } from "./read_config_file.ts";
export { COMMAND_LINE, quickConfig } from "./quick_config.ts";
export { parseDuration } from "./parse_duration.ts";
export { parseSize } from "./parse_size.ts";
export { type AddressUse, parseHostPort } from "./parse_host_port.ts";
