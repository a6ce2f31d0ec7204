/**
 * Proxying one HTTP request to a backend, top to bottom: pick a server (sticky cookie, then the
 * policy), take a pooled connection or dial, run the exchange (lib/http/exchange.ts), and when
 * the server fails before any response byte reached the client, decide whether the request may
 * go to another server.
 *
 * Retry rules (Pingora's and nginx's `proxy_next_upstream`): a connect that failed sent nothing,
 * so it is always retried; a request that may have reached a server is retried only when it is
 * idempotent (RFC 9110 §9.2.2) and its body, if any, was small enough to keep
 * (`retry_body_limit`). No new attempt starts after `retry_timeout`, nor beyond `retries`, nor
 * once anything (an interim response) was sent to the client.
 */
import { hashKeyOf } from "../balance/hash_key.ts";
import { ProxyError } from "../errors.ts";
import { untilAborted } from "../net/until_aborted.ts";
import { ConnError } from "../runtime/mod.ts";
import type { Backend } from "../upstream/backend.ts";
import type { UpstreamServer } from "../upstream/server.ts";
import { BodyTape } from "./body_tape.ts";
import { ClientWatch } from "./client_watch.ts";
import { type Attempt, type Exchange, exchangeOnce, failed, type Failure, type ProxyContext, type ProxyOutcome } from "./exchange.ts";
import type { Fields } from "./headers.ts";
import { prepareRequestHead } from "./prepare_request.ts";
import { stickyCookieField, stickyIdOf } from "./sticky_cookie.ts";

export type { ProxyContext, ProxyOutcome } from "./exchange.ts";

/** RFC 9110 §9.2.2: methods whose repetition has the same effect, safe to retry. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

export async function proxyRequest(ctx: ProxyContext): Promise<ProxyOutcome> {
  // While the request waits for a server and its answer, nothing reads the client: watch it,
  // so a client that leaves frees its server at once. Only when its body is already here (the
  // watch must not read the body out from under the copy) and it is not an upgrade (a tunnel
  // reads the connection directly).
  const { req, reader } = ctx;
  const bodyHere = req.body.kind === "none" || (req.body.kind === "length" && reader.buffered >= req.body.length);
  const watch = bodyHere && !req.upgrade ? new ClientWatch(reader) : null;
  try {
    return await tryServers(ctx, watch);
  } finally {
    watch?.stop();
  }
}

async function tryServers(ctx: ProxyContext, watch: ClientWatch | null): Promise<ProxyOutcome> {
  const { req, backend } = ctx;
  const gone = watch ?? undefined;
  const cfg = backend.config;
  const pick = { clientAddr: ctx.clientIp, hashKey: cfg.hash_key ? hashKeyOf(cfg.hash_key, req) : undefined };
  const stickyId = cfg.sticky ? stickyIdOf(req, cfg.sticky.cookie) : undefined;
  const started = Date.now();
  const tried = new Set<UpstreamServer>();
  const touched = { client: false };
  // Bodies are kept only while they may still be needed for another attempt.
  const tape = req.body.kind !== "none" && cfg.retry_body_limit > 0 && backend.maxAttempts > 1 ? new BodyTape(cfg.retry_body_limit) : undefined;
  const errors: ProxyError[] = [];
  let bodyRead = req.body.kind === "none";

  for (;;) {
    const server = await backend.acquire(pick, tried, stickyId, gone);
    if (server === "aborted") return clientLeft(null);
    if (typeof server === "string") return noServer(ctx, server, errors, bodyRead);
    tried.add(server);
    const addFields: Fields = cfg.sticky && server.id !== stickyId ? [stickyCookieField(cfg.sticky.cookie, server.id)] : [];
    let ex: Exchange;
    try {
      ex = await attempt(ctx, server, {
        head: prepareRequestHead(req, { clientIp: ctx.clientIp, proto: ctx.proto, fallbackHost: server.address }),
        // The body is read from the client once; later attempts send the kept copy.
        replay: bodyRead && req.body.kind !== "none" ? tape?.bytes() ?? null : null,
        tape: bodyRead ? undefined : tape,
        addFields,
        touched,
        gone,
        onResponse: () => watch?.stop(),
      });
    } catch (e) {
      backend.release(server);
      throw e;
    }
    if (gone?.aborted && ex.kind === "failed") {
      // The client left, and ferry cut the server off for it: not the server's failure.
      backend.release(server);
      return clientLeft(server);
    }
    // The failure is counted before the release: a request trying a server after its passive
    // mark must be known to have failed when it ends.
    if (ex.kind === "failed" && ex.failure.serverFault) backend.reportFailure(server, ex.failure.err.message);
    backend.release(server);
    if (ex.kind === "done") return ex.outcome;

    const f = ex.failure;
    errors.push(f.err);
    if (f.reached) bodyRead = f.bodyDone;
    const replayable = req.body.kind === "none" || !f.reached || (f.bodyDone && tape?.bytes() != null);
    const mayRepeat = !f.reached || (IDEMPOTENT.has(req.method) && !req.upgrade);
    const why = !mayRepeat
      ? `${req.method} is not idempotent and may have reached the server`
      : !replayable
      // With a limit of 0 no body is kept at all, an empty one included: "larger than" would be wrong.
      ? cfg.retry_body_limit === 0
        ? "retry_body_limit is 0, so no request body is kept"
        : `its body was not kept (larger than retry_body_limit, ${cfg.retry_body_limit} bytes)`
      : touched.client
      ? "an interim response already went to the client"
      : tried.size >= backend.maxAttempts
      ? null
      : Date.now() - started >= cfg.retry_timeout
      ? `retry_timeout (${cfg.retry_timeout} ms) has passed`
      : undefined;
    if (why !== undefined) {
      // Say why another server was not tried, when one could have been: the log then tells a
      // POST that failed on purpose from a retry budget that ran out.
      const note = why !== null && tried.size < backend.servers.length ? `not retried: ${why}` : undefined;
      return giveUp(ctx, server, errors, f.reached ? f.bodyDone : bodyRead, note);
    }
    // The client will not see this failure; the operator should (nginx logs each one too).
    ctx.report(`${f.err.message}; trying another server`);
  }
}

/**
 * One attempt on one server: a pooled connection when there is one, else a new one. A pooled
 * connection that the server had already closed fails before any response byte; then the same
 * request goes once more on a fresh connection to the same server, when repeating it is safe
 * (RFC 9112 §9.3.1, as Go's transport does).
 */
async function attempt(ctx: ProxyContext, server: UpstreamServer, a: Omit<Attempt, "server" | "up">): Promise<Exchange> {
  const { req, backend } = ctx;
  const pooled = req.upgrade ? null : server.pool.take();
  if (pooled) {
    const ex = await exchangeOnce(ctx, { ...a, server, up: pooled });
    const safe = IDEMPOTENT.has(req.method) && (req.body.kind === "none" || a.replay !== null);
    if (ex.kind === "done" || !ex.failure.stale || !safe) return ex;
  }
  let up;
  try {
    up = await untilAborted(backend.dial(server), a.gone);
    if (up === null) {
      // The client left while the connection was being made: free the place at once.
      const err = new ProxyError("client_closed", "client closed the connection while ferry was connecting");
      return { kind: "failed", failure: { err, reached: false, bodyDone: false, stale: false, serverFault: false } };
    }
  } catch (e) {
    let why = e instanceof ConnError ? e.message : String(e);
    if (why === "timeout") why = `timed out after ${backend.config.timeouts.connect} ms (timeouts.connect)`;
    const err = new ProxyError("connect_failed", `cannot connect to upstream "${server.address}": ${why}`);
    const failure: Failure = { err, reached: false, bodyDone: false, stale: false, serverFault: true };
    return { kind: "failed", failure };
  }
  const ex = await exchangeOnce(ctx, { ...a, server, up });
  // Nothing back from a connection just opened is the server's doing.
  if (ex.kind === "failed" && ex.failure.stale) ex.failure.serverFault = true;
  return ex;
}

/** The client closed its connection while the request waited: nothing to answer, 499 for the log (as nginx logs it). */
function clientLeft(server: UpstreamServer | null): ProxyOutcome {
  const err = new ProxyError("client_closed", "client closed the connection before the response");
  return { ...failed(err, false), upstream: server?.address ?? null };
}

/** No server could be had at all: none available, or all busy for the whole queue timeout. */
function noServer(ctx: ProxyContext, why: "none" | "queue_timeout", errors: ProxyError[], bodyRead: boolean): ProxyOutcome {
  if (errors.length > 0) return giveUp(ctx, null, errors, bodyRead);
  const err = why === "queue_timeout"
    ? new ProxyError("queue_timeout", `every server of backend "${ctx.backend.name}" stayed at max_conns for ${ctx.backend.config.queue_timeout} ms`)
    : new ProxyError("no_server", `no available server in backend "${ctx.backend.name}"`);
  ctx.report(err.message);
  return failed(err, bodyRead && ctx.req.keepAlive);
}

/**
 * Answers the client with the last failure; the message lists every attempt so the error log
 * tells the whole story. The connection stays usable only when the request body was consumed.
 */
function giveUp(ctx: ProxyContext, server: UpstreamServer | null, errors: ProxyError[], bodyDone: boolean, note?: string): ProxyOutcome {
  const last = errors[errors.length - 1];
  const messages = errors.map((e) => e.message);
  if (note) messages.push(note);
  const err = messages.length === 1 ? last : new ProxyError(last.kind, messages.join("; "), { cause: last });
  ctx.report(err.message);
  return { ...failed(err, bodyDone && ctx.req.keepAlive), upstream: server?.address ?? null };
}

