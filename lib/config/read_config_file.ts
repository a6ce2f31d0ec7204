import { readFile } from "node:fs/promises";
import type { ConfigError } from "./config_error.ts";

/**
 * Reads a config file as UTF-8. A failure comes back as a `ConfigError` without a position
 * (line 0), formatted as `cannot read config "path": no such file`, so callers handle it like
 * any other config problem (the command line prints it as `ferry: cannot read config ...`).
 */
export async function readConfigFile(path: string): Promise<{ text: string } | { errors: ConfigError[] }> {
  try {
    return { text: await readFile(path, "utf8") };
  } catch (error) {
    const message = `cannot read config ${JSON.stringify(path)}: ${describe(error)}`;
    return { errors: [{ file: path, line: 0, col: 0, path: "", message }] };
  }
}

/** The system error in a few words; its `code` is the same on Node, Deno and Bun. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
  }
  return error instanceof Error ? error.message : String(error);
}
