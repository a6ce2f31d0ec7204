/** Test helpers for config texts written inline. */
import assert from "node:assert/strict";
import { formatConfigError } from "../../lib/config/config_error.ts";
import { loadConfig } from "../../lib/config/load_config.ts";
import type { Config } from "../../lib/config/types.ts";

/** Strips the first newline and the common indentation, so YAML can be indented with the test. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings.raw }, ...values).replace(/^\n/, "");
  const indents = text.split("\n").filter((line) => line.trim() !== "").map((line) => /^ */.exec(line)![0].length);
  const indent = Math.min(...indents);
  return text.split("\n").map((line) => line.slice(indent)).join("\n");
}

/** Loads a text that must be valid and returns its config. */
export function configOf(text: string): Config {
  const result = loadConfig(text, "config.yaml");
  if ("errors" in result) assert.fail(`unexpected errors:\n${result.errors.map(formatConfigError).join("\n")}`);
  return result.config;
}

/** Loads a text that must be invalid and returns its errors, formatted. */
export function errorsOf(text: string): string[] {
  const result = loadConfig(text, "config.yaml");
  if ("config" in result) assert.fail("expected errors, got a config");
  return result.errors.map(formatConfigError);
}

/** Like `errorsOf`, without the `config.yaml:line:col: ` prefix, for tests about wording. */
export function messagesOf(text: string): string[] {
  return errorsOf(text).map((error) => error.replace(/^config\.yaml:\d+:\d+: /, ""));
}
