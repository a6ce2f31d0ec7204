import { type ConfigError, formatConfigError } from "../config/mod.ts";

/**
 * Prints config problems the way `--check`, start-up and reload report them.
 *
 * A problem with a place in the file is printed bare, `file:line:col: path: message`, the
 * shape compilers use, so editors and terminals turn it into a link; a summary line
 * (`ferry: invalid configuration: 2 problems`) follows. A problem without a place (the file
 * cannot be read, a bad flag in quick mode) is a line of ferry's own log, `ferry: ...`, like
 * every other message from ferry, and needs no count after it.
 *
 * `write` takes a whole line; `log` is the error log (which adds the `ferry: ` prefix).
 */
export function printConfigErrors(
  errors: readonly ConfigError[],
  write: (line: string) => void,
  log: (message: string) => void,
): void {
  for (const e of errors) {
    if (e.line > 0) write(formatConfigError(e));
    else log(formatConfigError(e));
  }
  if (errors.some((e) => e.line > 0)) {
    const n = errors.length;
    log(`invalid configuration: ${n} problem${n === 1 ? "" : "s"}`);
  }
}
