/**
 * Closing a client connection without destroying the response just sent, and refusing a
 * connection with a last word.
 */
import { BufReader } from "../net/reader.ts";
import { writeWithin } from "../net/socket_writer.ts";
import type { Conn } from "../runtime/mod.ts";
import { errorResponse, renderResponse } from "./local_response.ts";

/** How long, and how much, to keep reading after our FIN so the client gets our last response. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 256 * 1024;

/**
 * Closes a client connection without destroying the response just sent: closing a socket with
 * unread input makes the kernel send a reset, and a reset can make the client discard the
 * response it has not read yet. So: send FIN, read and drop what the client still sends for a
 * moment, then close (nginx's lingering_close, RFC 9112 §9.6).
 */
export async function lingeringClose(client: Conn, reader: BufReader, ms = LINGER_MS, bytes = LINGER_BYTES): Promise<void> {
  if (reader.eof) return client.close();
  try {
    await client.closeWrite();
  } catch {
    return client.close();
  }
  const timer = setTimeout(() => client.close(), ms);
  try {
    let n = 0;
    while (n < bytes) {
      // Through the reader: a read it already has pending must be shared, not doubled.
      const chunk = await reader.read();
      if (chunk === null) break;
      n += chunk.length;
    }
  } catch { /* reset or closed: done either way */ }
  clearTimeout(timer);
  client.close();
}

/** A refused connection gets this long to take its error page, and a shorter linger than a served one. */
const REFUSE_MS = 1_000;
const REFUSE_LINGER_BYTES = 16 * 1024;

/**
 * Answers a connection ferry will not serve (a connection limit) with an error page before any
 * request was read, then closes it. A client that sends its request anyway reads the page as the
 * answer to it (RFC 9112 §9.6 lets a server close after any response). A refused connection
 * must cost little, so it gets a short linger: enough for the page to survive the request bytes
 * that are still arriving, not enough to hold the file descriptor.
 */
export async function refuseHttpConn(client: Conn, status: number): Promise<void> {
  try {
    await writeWithin(client, renderResponse(errorResponse(status), null, false), REFUSE_MS);
  } catch {
    return client.close();
  }
  await lingeringClose(client, new BufReader(client), REFUSE_MS, REFUSE_LINGER_BYTES);
}
