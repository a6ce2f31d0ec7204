/** One problem found in a config, located well enough for an editor to jump to it. */
export interface ConfigError {
  /** The config file as given on the command line, or `"<command line>"`. */
  file: string;
  /** 1-based line; 0 when the problem has no place in the text (unreadable file, flags). */
  line: number;
  /** 1-based column; 0 when `line` is 0. */
  col: number;
  /** Key path such as `backends.api.servers[1].weight`; `""` for the document itself. */
  path: string;
  /** What is wrong, action first, offending value quoted, no trailing period. */
  message: string;
}

/**
 * Formats an error as `file:line:column: key.path: what is wrong, got "value"`, the shape
 * compilers use, so editors and terminals turn it into a link.
 *
 * The position is left out when there is none (line 0), and the path when it is empty.
 */
export function formatConfigError(error: ConfigError): string {
  const where = error.line > 0 ? `${error.file}:${error.line}:${error.col}: ` : "";
  const path = error.path === "" ? "" : `${error.path}: `;
  return `${where}${path}${error.message}`;
}
