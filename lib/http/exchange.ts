/**
 * One request/response exchange with one server, top to bottom: send the head (with a small or
 * kept body), stream the request body while waiting for the response, relay interim responses,
 * send the response head, stream the response body, then decide whether each side's connection
 * can be kept. Choosing the server and retrying elsewhere is `proxy.ts`'s business.
 */
import { asProxyError, ProxyError } from "../errors.ts";
import { Deadline } from "../net/deadline.ts";
import { BufReader } from "../net/reader.ts";
import { writeAll, writeWithin, WriteStalledError } from "../net/socket_writer.ts";
import type { Conn } from "../runtime/mod.ts";
import type { Backend } from "../upstream/backend.ts";
import type { UpstreamServer } from "../upstream/server.ts";
import { copyBody, type CopyOptions } from "./body.ts";
import type { BodyTape } from "./body_tape.ts";
import type { AbortFlag } from "../net/abort_flag.ts";
import { contentLength, type Framing } from "./framing.ts";
import { appendVia } from "./forwarded.ts";
import { type Fields, getAll, removeAll, set } from "./headers.ts";
import { stripHopByHop } from "./hop_by_hop.ts";
import { parseResponseHead, type ResponseHead, responseFraming } from "./parse_response.ts";
import type { RequestHead } from "./parse_request.ts";
import { serializeResponseHead } from "./serialize.ts";
import { tunnel } from "../net/pipe.ts";
import { upgradeRefusal } from "./upgrade_refusal.ts";

/** Most 1xx responses relayed before the final one. */
const MAX_INTERIM_RESPONSES = 32;


export interface ProxyOutcome {
  /** Status sent to the client (0 when nothing could be sent). */
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** The server that answered, for the access log. */
  upstream: string | null;
  /** Whether the client connection may carry another request. */
  keepAlive: boolean;
  /** Set when the client must be answered with an error page (nothing was sent yet). */
  error?: ProxyError;
  /** Set when the connection was handed over to a tunnel (101) and is finished. */
  upgraded?: boolean;
}

/**
 * How soon after the request went out a close still counts as a reused connection's idle
 * timeout rather than the server's answer to the request: a server's FIN for an idle connection
 * crosses the request within a round trip on the networks ferry serves (loopback, a LAN).
 */
const STALE_WINDOW_MS = 250;

export interface ProxyContext {
  client: Conn;
  reader: BufReader;
  req: RequestHead;
  backend: Backend;
  clientIp: string;
  proto: string;
  /** Longest time one write to the client may take (the listener's `timeouts.send`), ms. */
  sendTimeoutMs: number;
  /** Longest wait for the next piece of the request body (the listener's `timeouts.body`), ms. */
  bodyTimeoutMs: number;
  /** Longest silence in both directions of an upgraded connection (the listener's `timeouts.tunnel_idle`), ms. */
  tunnelIdleMs: number;
  /** Most payload bytes a request body may carry (the listener's `limits.max_body_size`); 0 = no limit. */
  maxBodySize: number;
  /** Reports a failure worth an operator's attention (error log). */
  report: (message: string) => void;
  /** A graceful stop has begun: the response must end the connection (`Connection: close`). */
  stopping?: () => boolean;
}

export type Exchange =
  | { kind: "done"; outcome: ProxyOutcome }
  /** The server failed before any byte of a response reached the client: the request may go elsewhere. */
  | { kind: "failed"; failure: Failure };

export interface Failure {
  err: ProxyError;
  /** Request bytes were written to the server (it may have acted on them). */
  reached: boolean;
  /** The whole request body was read from the client (and is in the tape when it fitted). */
  bodyDone: boolean;
  /** Nothing at all came back, on a connection that may have been closed while idle. */
  stale: boolean;
  /**
   * Counts towards the server's passive health: a timeout, a broken response. A stale failure
   * counts only on a fresh connection (the caller knows); on a pooled one it is the pool's news.
   */
  serverFault: boolean;
}

/** What one attempt sends. */
export interface Attempt {
  server: UpstreamServer;
  up: Conn;
  /** The request head, prepared for this server. */
  head: Uint8Array;
  /** The whole request body as framed on the wire, kept from an earlier attempt: sent with the head. */
  replay: Uint8Array | null;
  /** Keeps the body bytes as they go out, for a later attempt (absent: nothing is kept). */
  tape?: BodyTape;
  /** Extra response fields (a sticky cookie). */
  addFields: Fields;
  /** Set once anything (an interim response) was sent to the client: no other server may answer after that. */
  touched: { client: boolean };
  /** Set when the client leaves while the response is awaited: the server connection is closed then. */
  gone?: AbortFlag;
  /** Called when the first response head (interim or final) arrives: from then on writes to the client notice it leaving. */
  onResponse?: () => void;
}

/**
 * One request/response exchange on one server connection, from writing the head to deciding
 * whether the connection can be kept. Failures before any response byte reached the client come
 * back as `failed`, for the caller to retry elsewhere or answer with an error page.
 */
export async function exchangeOnce(ctx: ProxyContext, a: Attempt): Promise<Exchange> {
  const { req, client, backend } = ctx;
  const { server, up, head } = a;
  const upReader = new BufReader(up);
  const { timeouts, limits } = backend.config;
  // nginx's proxy_read_timeout semantics: the time allowed between two reads from the server,
  // so a long download that keeps moving is never cut.
  const responseDeadline = new Deadline(() => up.close()).arm(timeouts.response);
  if (a.gone?.aborted) {
    // The client left while this connection was being made: send nothing.
    up.close();
    responseDeadline.clear();
    const err = new ProxyError("client_closed", "client closed the connection before the request was sent");
    return { kind: "failed", failure: { err, reached: false, bodyDone: false, stale: false, serverFault: false } };
  }
  const stopCut = a.gone?.onAbort(() => up.close());
  let headArrived = false;
  const responding = () => {
    headArrived = true;
    stopCut?.();
    a.onResponse?.();
  };

  // A small body that arrived whole with the head (or one kept from an earlier attempt) goes out
  // in the same write.
  let first = head;
  let bodySent = req.body.kind === "none";
  if (a.replay) {
    first = concat(head, a.replay);
    bodySent = true;
  } else if (req.body.kind === "length" && ctx.reader.buffered >= req.body.length) {
    const inline = ctx.reader.take(req.body.length);
    a.tape?.record(inline);
    first = concat(head, inline);
    bodySent = true;
  }
  let sentAt = 0;
  try {
    await writeAll(up, first);
    sentAt = Date.now();
  } catch (e) {
    up.close();
    responseDeadline.clear();
    const err = new ProxyError("upstream_closed", `upstream "${server.address}": sending request failed: ${(e as Error).message}`);
    return { kind: "failed", failure: { err, reached: true, bodyDone: bodySent, stale: true, serverFault: false } };
  }

  // The request body streams while the response is awaited: a server may answer early
  // (413, 417, a redirect) without reading it all, and Expect: 100-continue needs both at once.
  const body = startRequestBody(ctx, a.tape ? a.tape.wrap(up) : up, {
    onProgress: () => responseDeadline.arm(timeouts.response),
    alreadySent: bodySent,
    headArrived: () => headArrived,
  });
  /** Gives up on this server before any response byte reached the client. */
  const giveUp = (err: ProxyError, stale = false): Exchange => {
    responseDeadline.clear();
    up.close();
    body.cancel();
    return { kind: "failed", failure: { err, reached: true, bodyDone: body.done, stale, serverFault: !stale } };
  };

  let res: ResponseHead;
  let interims = 0;
  for (;;) {
    const got = await upReader.readHead(limits.max_head_size, limits.max_head_size, { skipEmptyLines: false }).catch(() => null);
    responding();
    const timedOut = responseDeadline.expired;
    if (body.error) {
      // The client's body was broken or the client left: that, not the server, is the story.
      responseDeadline.clear();
      up.close();
      return { kind: "done", outcome: failed(body.error, false) };
    }
    if (!got || !got.ok) {
      const at = `upstream "${server.address}"`;
      if (timedOut) return giveUp(new ProxyError("upstream_timeout", `${at} did not respond within ${timeouts.response} ms`));
      if (!got || got.reason === "eof") {
        // A close that comes at once may be the server's idle timeout racing our request (the
        // connection is then worth one more try, see attempt()); one that comes after the
        // server held the request for a while means it worked on it, and may have died of it.
        const stale = interims === 0 && Date.now() - sentAt < STALE_WINDOW_MS;
        return giveUp(new ProxyError("upstream_closed", `${at} closed the connection before responding`), stale);
      }
      switch (got.reason) {
        case "malformed":
          return giveUp(new ProxyError("upstream_bad_response", `${at} sent a malformed response head (bare LF or control byte)`));
        case "line_too_long":
        case "head_too_long":
          return giveUp(new ProxyError("upstream_bad_response", `${at} sent a response head larger than ${limits.max_head_size} bytes`));
        case "truncated":
          return giveUp(new ProxyError("upstream_closed", `${at} closed the connection in the middle of the response head`));
      }
    }
    try {
      res = parseResponseHead(got.head, limits.max_headers);
    } catch (e) {
      return giveUp(withServer(asProxyError(e), server));
    }
    if (res.status >= 200 || res.status === 101) break;
    // A server may send several 1xx (100, then 103s), but an endless stream of them is a server
    // stuck in a loop, not a response.
    if (++interims > MAX_INTERIM_RESPONSES) {
      return giveUp(new ProxyError("upstream_bad_response", `upstream "${server.address}" sent more than ${MAX_INTERIM_RESPONSES} interim (1xx) responses`));
    }
    responseDeadline.arm(timeouts.response);
    // RFC 9110 §15.2: interim responses are forwarded, but never to an HTTP/1.0 client.
    if (req.version === "HTTP/1.1") {
      a.touched.client = true;
      // RFC 9110 §8.6: a 1xx carries no Content-Length; one passed on would make a lenient
      // client take the next response's bytes for a body.
      const interim = serializeResponseHead("HTTP/1.1", res.status, res.reason, removeAll(stripHopByHop(res.fields, "response"), CONTENT_LENGTH));
      try {
        await writeAll(client, interim);
      } catch {
        responseDeadline.clear();
        up.close();
        return { kind: "done", outcome: clientGone(server) };
      }
    }
  }

  if (res.status === 101) {
    responseDeadline.clear();
    return await upgrade(ctx, server, up, upReader, res, body);
  }

  let framing: Framing;
  try {
    framing = responseFraming(res, req.method);
  } catch (e) {
    return giveUp(withServer(asProxyError(e), server));
  }

  // Keep-alive towards the client (RFC 9112 §9.3): the client asked for it, and the body's end
  // can be seen without closing. A chunked body cannot be sent to an HTTP/1.0 client (RFC 9112
  // §7.1), so it is decoded and delimited by closing. A body the server delimits by closing goes
  // to an HTTP/1.1 client chunked, so that a server dying mid-body shows as a missing last chunk
  // (a close alone would look like the end) and the client connection can stay open.
  const dechunk = framing.kind === "chunked" && req.version === "HTTP/1.0";
  const enchunk = framing.kind === "close" && req.version === "HTTP/1.1";
  let clientKeep = req.keepAlive && (framing.kind !== "close" || enchunk) && !dechunk && !ctx.stopping?.();
  // If the request body is still unread, the next request cannot be found in the stream.
  if (!body.done) clientKeep = false;
  if (backend.config.passive.fail_status.includes(res.status)) backend.reportFailure(server, `status ${res.status}`);
  const fields = responseFields(res, framing, dechunk, enchunk, clientKeep, req);
  fields.push(...a.addFields);
  const resHead = serializeResponseHead("HTTP/1.1", res.status, res.reason, fields);

  const progress = { written: false, bodyBytes: 0 };
  try {
    await sendResponse(upReader, framing, resHead, {
      dst: client,
      dechunk,
      enchunk,
      srcError: (m, cause, malformed) => {
        if (malformed) return new ProxyError("upstream_bad_response", `upstream "${server.address}": ${m}`, { cause });
        // The deadline closed the connection: that is why the body "ended", and the log must say so.
        if (responseDeadline.expired) {
          return new ProxyError("upstream_timeout", `upstream "${server.address}" sent no response data for ${timeouts.response} ms (${m})`, { cause });
        }
        return new ProxyError("upstream_closed", `upstream "${server.address}": ${m}`, { cause });
      },
      dstError: (m, cause) => new ProxyError("client_closed", `client went away: ${m}`, { cause }),
      // Only time spent waiting for the server counts; a slow client is not the server's fault.
      onReadStart: () => responseDeadline.arm(timeouts.response),
      onRead: () => responseDeadline.clear(),
      writeTimeoutMs: ctx.sendTimeoutMs,
      progress,
    });
  } catch (e) {
    responseDeadline.clear();
    up.close();
    const err = asProxyError(e);
    // Nothing sent yet (the head waits to go out with the first body bytes): the client can
    // still get an honest error page.
    if (!progress.written && err.side === "upstream") return giveUp(err);
    // The head is out: the only honest signal left is to abort the connection, so the client
    // never takes a truncated body for a complete one (a reset where the runtime can send one:
    // to an HTTP/1.0 client, whose body ends where the connection ends, a FIN would say "done").
    client.abort();
    if (err.side === "upstream") ctx.report(err.message);
    // nginx logs this too ("client timed out"): a client that stopped reading is worth knowing about.
    else if (err.cause instanceof WriteStalledError) ctx.report(`client ${ctx.clientIp} accepted nothing for ${err.cause.timeoutMs} ms (timeouts.send): connection closed`);
    body.cancel();
    return { kind: "done", outcome: { status: res.status, bytes: progress.bodyBytes, upstream: server.address, keepAlive: false } };
  }
  const bytes = progress.bodyBytes;
  responseDeadline.clear();

  if (!body.done) {
    // The server answered without reading the whole body; neither connection is in sync now.
    body.cancel();
    up.close();
    return { kind: "done", outcome: { status: res.status, bytes, upstream: server.address, keepAlive: false } };
  }
  // Bytes after the end of the response are not the answer to anything ferry asked: a server
  // that sends them is confused or smuggling, and the next request on this connection would get
  // them as its response (RFC 9112 §6.3: the rest of the stream belongs to the next message).
  const upKeep = res.keepAlive && framing.kind !== "close" && upReader.buffered === 0;
  // A draining server (gone from DNS or from the config) gets no new requests: keeping its
  // connections would only hold file descriptors until the idle timeout.
  if (upKeep && !server.draining) server.pool.put(up);
  else up.close();
  return { kind: "done", outcome: { status: res.status, bytes, upstream: server.address, keepAlive: clientKeep } };
}

/**
 * Sends the response head and body. Most responses are small and already read whole with their
 * head: those go out in one write, without the streaming machinery. A streamed body whose first
 * bytes came with the head goes out with it; one whose bytes have not arrived yet (server-sent
 * events, long polling, a slow generator) gets its head sent at once, so the client learns the
 * status without waiting for the first body byte.
 */
async function sendResponse(upReader: BufReader, framing: Framing, head: Uint8Array, opts: CopyOptions & { dst: Conn; progress: { written: boolean; bodyBytes: number } }): Promise<void> {
  const whole = framing.kind === "none" ? 0 : framing.kind === "length" && upReader.buffered >= framing.length ? framing.length : -1;
  if (whole < 0 && upReader.buffered > 0) {
    await copyBody(upReader, framing, { ...opts, prefix: head });
    return;
  }
  try {
    await writeWithin(opts.dst, whole > 0 ? concat(head, upReader.take(whole)) : head, opts.writeTimeoutMs);
  } catch (e) {
    throw opts.dstError(`writing response failed: ${(e as Error).message}`, e);
  }
  opts.progress.written = true;
  opts.progress.bodyBytes = Math.max(whole, 0);
  if (whole < 0) await copyBody(upReader, framing, opts);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The response fields sent to the client. */
function responseFields(res: ResponseHead, framing: Framing, dechunk: boolean, enchunk: boolean, keepAlive: boolean, req: RequestHead): Fields {
  let fields = appendVia(stripHopByHop(res.fields, "response"), res.version.slice(5));
  if (framing.kind === "length") fields = set(fields, "Content-Length", String(framing.length));
  else if (framing.kind === "none") fields = bodilessLength(fields, res, req.method);
  if ((framing.kind === "chunked" && !dechunk) || enchunk) fields.push(["Transfer-Encoding", "chunked"]);
  if (dechunk) fields = removeAll(fields, new Set(["content-length", "trailer"]));
  if (!keepAlive) fields.push(["Connection", "close"]);
  else if (req.version === "HTTP/1.0") fields.push(["Connection", "keep-alive"]);
  return fields;
}

const CONTENT_LENGTH = new Set(["content-length"]);

/**
 * Content-Length on a response without a body (RFC 9110 §8.6): a 1xx or 204 must not carry one,
 * so it is dropped; on a HEAD response or a 304 it tells the size of the representation and is
 * passed on as one normalised value, or dropped when it is not a valid one; anything else has
 * no body because it said `Content-Length: 0`, which is its framing and stays.
 */
function bodilessLength(fields: Fields, res: ResponseHead, method: string): Fields {
  if (!fields.some(([n]) => n.toLowerCase() === "content-length")) return fields;
  const without = removeAll(fields, CONTENT_LENGTH);
  if (res.status < 200 || res.status === 204) return without;
  if (method !== "HEAD" && res.status !== 304) return set(without, "Content-Length", "0");
  let n: number | undefined;
  try {
    n = contentLength(res.fields, "upstream_bad_response");
  } catch {
    return without;
  }
  return n === undefined ? without : [...without, ["Content-Length", String(n)]];
}

/** Switching protocols (RFC 9110 §15.2.2): from here on both connections are one byte tunnel. */
async function upgrade(
  ctx: ProxyContext,
  server: UpstreamServer,
  up: Conn,
  upReader: BufReader,
  res: ResponseHead,
  body: RequestBody,
): Promise<Exchange> {
  const protocol = getAll(res.fields, "upgrade").join(", ");
  const refusal = !ctx.req.upgrade ? "switched protocols without being asked to" : upgradeRefusal(ctx.req.upgrade, protocol);
  if (refusal) {
    up.close();
    body.cancel();
    const err = new ProxyError("upstream_bad_response", `upstream "${server.address}" ${refusal}`);
    return { kind: "failed", failure: { err, reached: true, bodyDone: body.done, stale: false, serverFault: true } };
  }
  await body.settled;
  if (body.error) {
    up.close();
    return { kind: "done", outcome: failed(body.error, false) };
  }
  const fields = appendVia(stripHopByHop(res.fields, "response"), res.version.slice(5));
  fields.push(["Connection", "upgrade"], ["Upgrade", protocol]);
  try {
    await writeAll(ctx.client, serializeResponseHead("HTTP/1.1", 101, res.reason, fields));
  } catch {
    up.close();
    return { kind: "done", outcome: clientGone(server) };
  }
  const clientAhead = ctx.reader.buffered ? ctx.reader.take(ctx.reader.buffered).slice() : undefined;
  const upAhead = upReader.buffered ? upReader.take(upReader.buffered).slice() : undefined;
  await tunnel(ctx.client, up, { aHead: clientAhead, bHead: upAhead, idleMs: ctx.tunnelIdleMs });
  return { kind: "done", outcome: { status: 101, bytes: 0, upstream: server.address, keepAlive: false, upgraded: true } };
}

interface RequestBody {
  /** The whole body reached the server. */
  readonly done: boolean;
  /** Set when the body failed on the client's side (malformed, client gone). */
  readonly error: ProxyError | null;
  readonly settled: Promise<void>;
  /**
   * Gives up on the client's body: its failure is no longer reported. The copy ends when the
   * caller closes the client connection, which it must do since the stream is out of sync.
   */
  cancel(): void;
}

interface RequestBodyOptions {
  /** Runs whenever body bytes move: the server is not late while it is still being sent the request. */
  onProgress: () => void;
  /** The body went out with the head already (or there is none). */
  alreadySent: boolean;
  /** Whether a response head came back: after that a stalled body no longer gets a 408. */
  headArrived: () => boolean;
}

function startRequestBody(ctx: ProxyContext, up: Conn, opts: RequestBodyOptions): RequestBody {
  const { req, reader } = ctx;
  const none = req.body.kind === "none" || opts.alreadySent;
  const state = { done: none, error: null as ProxyError | null, cancelled: false };
  /** A failure on the client's side: the first one is the story; the server connection is closed, which wakes the response wait. */
  const clientFailed = (err: ProxyError) => {
    if (state.cancelled || state.error) return;
    state.error = err;
    up.close();
  };
  // nginx's client_body_timeout: only time spent waiting for the client counts, so a slow upload
  // that keeps moving is never cut. Once the server has answered, its response decides.
  const stalled = new Deadline(() => {
    if (!opts.headArrived()) {
      clientFailed(new ProxyError("client_timeout", `request body from client: nothing arrived for ${ctx.bodyTimeoutMs} ms`));
    }
  });
  const settled = none ? Promise.resolve() : copyBody(reader, req.body, {
    dst: up,
    srcError: (m, cause, malformed) => new ProxyError(malformed ? "bad_request" : "client_closed", `request body from client: ${m}`, { cause }),
    // The server stopped reading (it may already be answering); its response tells the rest.
    dstError: (m, cause) => new ProxyError("upstream_closed", `sending request body: ${m}`, { cause }),
    maxBytes: ctx.maxBodySize,
    onReadStart: () => stalled.arm(ctx.bodyTimeoutMs),
    onRead: () => {
      stalled.clear();
      opts.onProgress();
    },
  }).then(
    () => {
      stalled.clear();
      state.done = true;
    },
    (e) => {
      stalled.clear();
      const err = asProxyError(e);
      if (err.side === "client") clientFailed(err);
    },
  );
  return {
    get done() {
      return state.done;
    },
    get error() {
      return state.error;
    },
    settled,
    cancel() {
      state.cancelled = true;
    },
  };
}

export function failed(err: ProxyError, keepAlive: boolean): ProxyOutcome {
  return { status: err.status, bytes: 0, upstream: null, keepAlive, error: err };
}

function clientGone(server: UpstreamServer): ProxyOutcome {
  return { status: 499, bytes: 0, upstream: server.address, keepAlive: false };
}

function withServer(err: ProxyError, server: UpstreamServer): ProxyError {
  if (err.side !== "upstream" || err.message.includes(server.address)) return err;
  return new ProxyError(err.kind, `upstream "${server.address}": ${err.message}`, { cause: err });
}
