/**
 * The `type: http` health check: one `GET` on a fresh connection, judged by the status code.
 *
 * Only the response head is read. The body may be large or endless (a metrics page, a stream)
 * and says nothing the status does not; the connection is closed once the head is in, which is
 * why the request says `Connection: close` (RFC 9112 §9.6).
 */
import { ProxyError } from "../errors.ts";
import { quote } from "../http/parse_fields.ts";
import { parseResponseHead, responseFraming } from "../http/parse_response.ts";
import { latin1, latin1Bytes } from "../http/syntax.ts";
import { Deadline } from "../net/deadline.ts";
import { BufReader } from "../net/reader.ts";
import { writeAll } from "../net/socket_writer.ts";
import { type Conn, runtime } from "../runtime/mod.ts";
import { connectTo, failed, type ProbeResult, type ProbeTarget, timedOut } from "./probe_result.ts";

export interface HttpProbeOptions {
  /** Request target, origin-form: `/healthz?full=1`. */
  path: string;
  /** Host header; default: the target's `origin` (the config entry), else its `address`. */
  host?: string;
  /** Statuses that pass, as inclusive ranges. */
  expect: [number, number][];
  /** Budget for connect + request + response head together. */
  timeoutMs: number;
}

/** The same limits as ferry's own response parsing: a health endpoint is a normal server. */
const MAX_LINE = 8 * 1024;
const MAX_HEAD = 64 * 1024;
const MAX_FIELDS = 200;
/** 1xx responses (103 Early Hints) skipped before the final one, as in the proxy. */
const MAX_INTERIM = 32;

/**
 * RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase]. The SP before an empty reason is
 * often left out; that form is unambiguous and accepted, as by the proxy's parser.
 */
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/;

/** Sends `GET opts.path` to `target` and checks the response status. Never throws. */
export async function probeHttp(target: ProbeTarget, opts: HttpProbeOptions): Promise<ProbeResult> {
  const host = opts.host ?? target.origin ?? target.address;
  // A CR or LF here would split the request into something else (RFC 9112 §2.2): never send it.
  if (!/^[\x21-\x7e]+$/.test(opts.path)) return { ok: false, detail: `refusing to send path ${quote(opts.path)}: not a valid request target` };
  if (!/^[\x21-\x7e]+$/.test(host)) return { ok: false, detail: `refusing to send Host ${quote(host)}: not a valid host` };

  let conn: Conn | null = null;
  // One budget for every step, so a server that accepts and then stalls fails as surely as one
  // that does not accept; closing the connection is what ends the pending read or write.
  const deadline = new Deadline(() => conn?.close()).arm(opts.timeoutMs);
  try {
    conn = await connectTo(target, opts.timeoutMs);
    if (deadline.expired) return timedOut(opts.timeoutMs);
    const request = `GET ${opts.path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ferry-health-check\r\nConnection: close\r\n\r\n`;
    await writeAll(conn, latin1Bytes(request));
    const status = await readStatus(new BufReader(conn));
    if (deadline.expired) return timedOut(opts.timeoutMs);
    if (typeof status === "string") return { ok: false, detail: status };
    const ok = opts.expect.some(([lo, hi]) => status >= lo && status <= hi);
    return { ok, detail: ok ? `status ${status}` : `status ${status} (expected ${describeRanges(opts.expect)})` };
  } catch (e) {
    if (deadline.expired) return timedOut(opts.timeoutMs);
    return failed(e, opts.timeoutMs);
  } finally {
    deadline.clear();
    conn?.close();
  }
}

/** `200-399`, `200, 204`. */
export function describeRanges(ranges: readonly [number, number][]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(", ");
}

/**
 * The final status of the response, or why there is none. Reads the whole head, not just the
 * status line: a server that stalls halfway through its head would stall real requests too.
 */
async function readStatus(r: BufReader): Promise<number | string> {
  for (let interim = 0;; interim++) {
    const line = await r.readLine(MAX_LINE);
    if (line === "eof") return "connection closed before the response head";
    if (line === "too_long") return "status line too long";
    const m = STATUS_LINE.exec(latin1(line));
    if (!m) return `malformed status line ${quote(latin1(line))}`;
    let budget = MAX_HEAD - line.length - 2;
    const lines = [latin1(line)];
    for (;;) {
      const field = await r.readLine(Math.min(MAX_LINE, Math.max(0, budget - 2)));
      if (field === "eof") return "connection closed before the response head";
      if (field === "too_long") return "response head too long";
      // readLine hands back a line ending in a bare LF with the LF: a framing the proxy refuses.
      if (field[field.length - 1] === 10) return "malformed response head: bare LF";
      if (field.length === 0) break;
      lines.push(latin1(field));
      budget -= field.length + 2;
    }
    const status = Number(m[1]);
    // RFC 9110 §15.2: 1xx responses are interim, the real answer follows (101 is final).
    if (status >= 200 || status === 101) {
      // Judged by the proxy's own parser too (fields, framing): a server whose responses the
      // proxy would refuse with a 502 is not healthy, whatever its status says.
      try {
        responseFraming(parseResponseHead(latin1Bytes(lines.join("\r\n") + "\r\n\r\n"), MAX_FIELDS), "GET");
      } catch (e) {
        return e instanceof ProxyError ? e.message : String(e);
      }
      return status;
    }
    if (interim + 1 >= MAX_INTERIM) return `more than ${MAX_INTERIM} interim responses`;
  }
}
