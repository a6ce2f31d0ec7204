import { parseArgs } from "node:util";

/** What the command line asks ferry to do. */
export type CliCommand =
  | { kind: "help" }
  | { kind: "version" }
  /** Validate the config file, print every problem, exit non-zero if there is one. */
  | { kind: "check"; configPath: string }
  | { kind: "run"; configPath: string }
  /** Quick mode: no config file, one HTTP listener proxying to the given servers. */
  | { kind: "quick"; listen: string; to: string[] }
  /** A usage mistake; `message` is ready to print (no "error:" prefix, no trailing period). */
  | { kind: "error"; message: string };

/** The config file read when neither `--config` nor `--listen` is given. */
export const DEFAULT_CONFIG_PATH = "config.yaml";

export const HELP_TEXT = `ferry: a reverse proxy and load balancer

Usage:
  ferry [--config FILE] [--check]
  ferry --listen ADDR --to ADDR [--to ADDR]...

Options:
  -c, --config FILE   config file to run (default: ${DEFAULT_CONFIG_PATH})
      --check         check the config file, print every problem and exit
      --listen ADDR   quick mode: accept HTTP on ADDR, like ":8080", without a config file
      --to ADDR       quick mode: proxy to the server at ADDR; repeat for round robin
  -v, --version       print the version and exit
  -h, --help          print this help and exit

Examples:
  ferry --config ferry.yaml --check
  ferry --listen :8080 --to 127.0.0.1:9001 --to 127.0.0.1:9002
`;

const OPTIONS = {
  // `multiple` on single-use flags lets us reject a repeat instead of silently keeping the last.
  config: { type: "string", short: "c", multiple: true },
  check: { type: "boolean" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  listen: { type: "string", multiple: true },
  to: { type: "string", multiple: true },
} as const;

/** An example value per flag, for "needs a value" messages. */
const EXAMPLES: Record<string, string> = {
  config: "ferry.yaml",
  listen: ":8080",
  to: "127.0.0.1:9001",
};

/** Parses the arguments after the program name. Never throws: mistakes come back as `error`. */
export function parseCli(args: string[]): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    return { kind: "error", message: describeParseError(error) };
  }
  const fail = (message: string): CliCommand => ({ kind: "error", message });

  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  for (const name of ["config", "listen"] as const) {
    if ((values[name]?.length ?? 0) > 1) return fail(`--${name} may be given only once`);
  }
  const config = values.config?.[0];
  const listen = values.listen?.[0];
  const to = values.to ?? [];

  if (config === "") return fail(`--config needs a value, like --config ${EXAMPLES.config}`);
  if (listen !== undefined || to.length > 0) {
    if (config !== undefined) return fail("--config cannot be combined with --listen or --to");
    if (values.check) return fail("--check checks a config file, it cannot be combined with --listen or --to");
    if (listen === undefined) return fail(`--to needs --listen ADDR too, like --listen ${EXAMPLES.listen}`);
    if (to.length === 0) return fail(`--listen needs at least one --to ADDR, like --to ${EXAMPLES.to}`);
    return { kind: "quick", listen, to };
  }

  const configPath = config ?? DEFAULT_CONFIG_PATH;
  return values.check ? { kind: "check", configPath } : { kind: "run", configPath };
}

/**
 * Rewords `parseArgs` errors, whose text is written for developers ("To specify a positional
 * argument starting with a '-'..."). Node, Deno and Bun share the error codes and the quoted
 * option in the message, which is all we read.
 */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  const quoted = /'([^']*)'/.exec(text)?.[1] ?? "";
  const flag = /--[a-z-]+/.exec(quoted)?.[0] ?? quoted.split(" ")[0];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${JSON.stringify(quoted)}, see --help`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(quoted)}, see --help`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      if (/does not take an argument/.test(text)) return `${flag} takes no value`;
      const example = EXAMPLES[flag.replace(/^--/, "")];
      const like = example === undefined ? "" : `, like ${flag} ${example}`;
      // "Ambiguous" means the next argument starts with "-": most often a forgotten value.
      const dash = /ambiguous/.test(text) ? ` (write ${flag}=VALUE for a value starting with "-")` : "";
      return `${flag} needs a value${like}${dash}`;
    }
  }
  return text.split("\n")[0].replace(/\.$/, "");
}
