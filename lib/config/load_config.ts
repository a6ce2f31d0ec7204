import { LineCounter, parseDocument, type YAMLError } from "yaml";
import type { ConfigError } from "./config_error.ts";
import { readConfigFile } from "./read_config_file.ts";
import type { Config } from "./types.ts";
import { validateConfig } from "./validate.ts";

/**
 * Parses and validates config text. `file` is only used to label errors.
 *
 * Either the config, with every default filled in, or every problem found, in the order
 * they appear in the text, each once. YAML syntax errors stop there: a broken tree would
 * only add confusing follow-on errors.
 */
export function loadConfig(text: string, file: string): { config: Config } | { errors: ConfigError[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return { errors: unique(doc.errors.map((error) => syntaxError(error, lineCounter, file))) };
  }
  const result = validateConfig(doc, lineCounter, file);
  return "errors" in result ? { errors: unique(result.errors) } : result;
}

/**
 * Drops exact repeats (same place, same path, same message): the yaml package can report one
 * mistake twice (`{{{`), and a count of problems should count problems, not reports.
 */
function unique(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = JSON.stringify([e.file, e.line, e.col, e.path, e.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `readConfigFile` then `loadConfig`: what `ferry --config FILE` needs. */
export async function loadConfigFile(path: string): Promise<{ config: Config } | { errors: ConfigError[] }> {
  const read = await readConfigFile(path);
  return "errors" in read ? read : loadConfig(read.text, path);
}

function syntaxError(error: YAMLError, lines: LineCounter, file: string): ConfigError {
  let { line, col } = lines.linePos(error.pos[0]);
  if (line === 0) [line, col] = [1, error.pos[0] + 1];
  return { file, line, col, path: "", message: `invalid YAML, ${describe(error)}` };
}

/** The `yaml` package's message, reworded where it speaks to programmers rather than users. */
function describe(error: YAMLError): string {
  if (error.code === "MULTIPLE_DOCS") return "expected one document, found another after ---";
  if (error.code === "DUPLICATE_KEY") return "duplicate key, each key may appear only once in a mapping";
  const message = error.message.replace(/\.$/, "");
  return message.charAt(0).toLowerCase() + message.slice(1);
}
