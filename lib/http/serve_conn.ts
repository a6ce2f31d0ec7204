/**
 * One client connection in HTTP mode: the keep-alive loop. Each turn reads a request head,
 * parses it, routes it, answers it (proxy, respond or redirect), logs it, and decides whether
 * the connection carries another request. Pipelined requests wait in the reader's buffer and
 * are taken only after the previous response was completely written, so answers stay in order
 * (RFC 9112 §9.3.2).
 */
import type { ListenerConfig } from "../config/types.ts";
import { asProxyError, ProxyError, statusFor } from "../errors.ts";
import type { AccessLog } from "../log/access_log.ts";
import { Deadline } from "../net/deadline.ts";
import { BufReader } from "../net/reader.ts";
import { writeAll, writeWithin } from "../net/socket_writer.ts";
import type { Router } from "../route/match.ts";
import type { Conn } from "../runtime/mod.ts";
import type { Backend } from "../upstream/backend.ts";
import { actionResponse, errorResponse, type LocalResponse, renderResponse } from "./local_response.ts";
import { parseRequestHead, type RequestHead } from "./parse_request.ts";
import { lingeringClose } from "./lingering_close.ts";
import { proxyRequest, type ProxyOutcome } from "./proxy.ts";

export interface HttpContext {
  listener: ListenerConfig;
  router: Router;
  backends: Map<string, Backend>;
  accessLog: AccessLog;
  /** "http" (or "https" once TLS terminates here), for X-Forwarded-Proto. */
  proto: string;
  report: (message: string) => void;
  /**
   * Told when a connection waits for a request head, so a graceful stop can close it; `draining`
   * once a stop has begun (responses then say `Connection: close`), `cutting` once it closes
   * what is still busy (those requests are logged 444, not as clients that left).
   */
  idle?: { setIdle(conn: Conn, idle: boolean): void; readonly draining: boolean; readonly cutting: boolean };
}

/** Serves `client` until it closes, errs, or a response ends the connection; always closes it. */
export async function serveHttpConn(client: Conn, ctx: HttpContext): Promise<void> {
  const reader = new BufReader(client);
  let served = 0;
  try {
    while (await serveOne(client, reader, ctx, ++served)) { /* next request */ }
  } catch (e) {
    ctx.report(`closing client connection after an internal error: ${asProxyError(e).message}`);
  } finally {
    // Lingering is courtesy to a client still sending, not a request in flight: a stop may
    // close the connection at once instead of counting it as busy.
    ctx.idle?.setIdle(client, true);
    await lingeringClose(client, reader);
  }
}

/** One request's turn on a connection: what every answering step needs. */
interface Turn {
  client: Conn;
  reader: BufReader;
  ctx: HttpContext;
  clientIp: string;
  /** When the request head was complete (ms), for the access log's duration. */
  start: number;
}

/** Handles the `nth` request of a connection (1-based); true when the connection stays open for the next one. */
async function serveOne(client: Conn, reader: BufReader, ctx: HttpContext, nth: number): Promise<boolean> {
  const { limits, timeouts } = ctx.listener;
  const first = nth === 1;

  // 1. Read the head. A new connection gets `header` to send its first request; an idle
  //    keep-alive connection gets `keepalive`. A partial head at the deadline is answered 408.
  const wait = new Deadline(() => {
    if (reader.buffered > 0) {
      writeAll(client, renderResponse(errorResponse(408), null, false)).finally(() => client.close());
    } else client.close();
  }).arm(first ? timeouts.header : timeouts.keepalive);
  // Until its head is complete a connection has no request in flight: a stop closes it at once
  // rather than wait out shutdown_timeout for a client that is slow, idle or gone (nginx does
  // the same with connections still reading their request header).
  ctx.idle?.setIdle(client, true);
  const got = await reader.readHead(limits.max_request_line, limits.max_head_size).catch(() => null);
  ctx.idle?.setIdle(client, false);
  wait.clear();
  if (wait.expired || !got) return false;
  const turn: Turn = { client, reader, ctx, clientIp: client.remoteAddr.hostname, start: Date.now() };
  if (!got.ok) {
    switch (got.reason) {
      case "eof":
      case "truncated":
        return false;
      case "line_too_long":
        return answerError(turn, null, new ProxyError("uri_too_long", `request line longer than ${limits.max_request_line} bytes`));
      case "head_too_long":
        return answerError(turn, null, new ProxyError("head_too_large", `request head larger than ${limits.max_head_size} bytes`));
      case "malformed":
        return answerError(turn, null, new ProxyError("bad_request", "malformed request head: bare LF or control byte"));
    }
  }

  // 2. Parse. A malformed head is answered and the connection closed: after a framing error
  //    the next request cannot be found reliably (RFC 9112 §2.2).
  let req: RequestHead;
  try {
    req = parseRequestHead(got.head, limits);
  } catch (e) {
    return answerError(turn, null, asProxyError(e));
  }
  // A connection is not kept for ever (nginx's keepalive_requests): the last request it may
  // carry is answered with `Connection: close` (RFC 9112 §9.6), which also bounds how long one
  // client can keep a connection, and the memory it grew, for itself.
  if (nth >= limits.max_keepalive_requests) req.keepAlive = false;

  // 3. Route.
  const route = ctx.router.match(req.host, req.path);
  if (!route) return answerLocal(turn, req, errorResponse(404));
  const action = route.action;
  if (action.type !== "proxy") return answerLocal(turn, req, actionResponse(action, req));

  // 4. Proxy.
  const backend = ctx.backends.get(action.backend);
  if (!backend) {
    ctx.report(`backend "${action.backend}" is not loaded`);
    return answerLocal(turn, req, errorResponse(statusFor("internal")));
  }
  // A declared body over the limit is refused before anything goes upstream; with
  // `Expect: 100-continue` the client has not even sent it (RFC 9110 §10.1.1, §15.5.14).
  if (limits.max_body_size > 0 && req.body.kind === "length" && req.body.length > limits.max_body_size) {
    return answerError(turn, req, new ProxyError("body_too_large", `request body of ${req.body.length} bytes is larger than max_body_size (${limits.max_body_size} bytes)`));
  }
  const outcome: ProxyOutcome = await proxyRequest({
    client,
    reader,
    req,
    backend,
    clientIp: turn.clientIp,
    proto: ctx.proto,
    sendTimeoutMs: timeouts.send,
    bodyTimeoutMs: timeouts.body,
    tunnelIdleMs: timeouts.tunnel_idle,
    maxBodySize: limits.max_body_size,
    report: ctx.report,
    stopping: () => ctx.idle?.draining ?? false,
  });
  if (outcome.error?.kind === "client_closed") {
    // Nobody is left to read an answer; 499 is only for the log (as nginx logs it). When ferry
    // itself cut the connection at the end of a stop, that is 444 (nginx's "closed without a
    // response"), so the log does not blame a client that was still waiting.
    log(turn, req, ctx.idle?.cutting ? 444 : outcome.error.status, 0, outcome.upstream);
    return false;
  }
  if (outcome.error) return sendPage(turn, req, errorResponse(outcome.error.status), outcome.keepAlive, outcome.upstream);
  log(turn, req, outcome.status, outcome.bytes, outcome.upstream);
  return outcome.keepAlive && !ctx.idle?.draining;
}

/**
 * Answers from ferry itself. A request body is not read: the answer goes out at once and the
 * connection is closed after it (the lingering close drains a little of the body so the client
 * still reads the answer). Reading a body nobody wants would let a client hold the connection,
 * or send gigabytes, for nothing; and with `Expect: 100-continue` (RFC 9110 §10.1.1) the client
 * is waiting for exactly this early answer.
 */
function answerLocal(turn: Turn, req: RequestHead, res: LocalResponse): Promise<boolean> {
  return sendPage(turn, req, res, req.keepAlive && req.body.kind === "none", null);
}

/** Answers an error and ends the connection; always false (the connection is done). */
async function answerError(turn: Turn, req: RequestHead | null, err: ProxyError): Promise<boolean> {
  if (err.side !== "client") turn.ctx.report(err.message);
  await sendPage(turn, req, errorResponse(err.status), false, null);
  return false;
}

/** Writes a response ferry made itself and logs it; true when the connection stays open. */
async function sendPage(turn: Turn, req: RequestHead | null, res: LocalResponse, keepAlive: boolean, upstream: string | null): Promise<boolean> {
  let sent = true;
  // A stop has begun: say so (RFC 9112 §9.6) rather than close right after an answer that
  // promised more, which would lose a request the client sends meanwhile.
  if (turn.ctx.idle?.draining) keepAlive = false;
  try {
    await writeWithin(turn.client, renderResponse(res, req, keepAlive), turn.ctx.listener.timeouts.send);
  } catch {
    sent = false;
  }
  log(turn, req, res.status, req?.method === "HEAD" ? 0 : res.body.length, upstream);
  return sent && keepAlive && !turn.ctx.idle?.draining;
}

function log(turn: Turn, req: RequestHead | null, status: number, bytes: number, upstream: string | null): void {
  turn.ctx.accessLog.log({
    clientIp: turn.clientIp,
    method: req?.method ?? "-",
    target: req?.target ?? "-",
    version: req?.version ?? "-",
    status,
    bytes,
    upstream,
    startMs: turn.start,
    endMs: Date.now(),
  });
}
