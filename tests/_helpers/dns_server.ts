/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1 (or ::1), answering A and AAAA queries
 * from a table the test changes at will. Enough for node:dns's Resolver (c-ares in Bun, Deno's own in Deno):
 * small answers fit in one datagram, so no TCP fallback is needed (RFC 1035 §4.2.1 only asks for
 * TCP when the answer is truncated).
 *
 * Unknown names get NXDOMAIN (rcode 3); a known name without records of the asked type gets
 * NOERROR with no answers, which resolvers report as "no data" (RFC 2308 §2.2).
 */
import dgram from "node:dgram";
import { isIP } from "node:net";

/** An address, or an address with a TTL of its own (seconds). */
export type DnsRecord = string | { address: string; ttl: number };

export interface DnsRecords {
  a?: DnsRecord[];
  aaaa?: DnsRecord[];
  /** Seconds, for records without a TTL of their own; default 30. */
  ttl?: number;
  /** Answer every query for the name with this response code and nothing else (2 SERVFAIL, 5 REFUSED). */
  rcode?: number;
  /** Query types never answered, like a server or firewall that drops them. */
  ignore?: ("a" | "aaaa")[];
}

export interface DnsServer {
  port: number;
  hostPort: { hostname: string; port: number };
  /** Replaces the records of `name` (case-insensitive, without the trailing dot). */
  set(name: string, records: DnsRecords): void;
  /** Forgets `name`: later queries get NXDOMAIN. */
  remove(name: string): void;
  /** Queries received so far (any type, answered or not). */
  readonly queries: number;
  /** Stops answering and releases the port. */
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

/** `hostname`: the loopback address to bind, `127.0.0.1` (default) or `::1`. */
export async function startDnsServer(hostname = "127.0.0.1"): Promise<DnsServer> {
  const table = new Map<string, DnsRecords>();
  const socket = dgram.createSocket(isIP(hostname) === 6 ? "udp6" : "udp4");
  let queries = 0;
  let closed: Promise<void> | null = null;

  socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    if (msg.length >= 12 && !(msg[2] & 0x80)) queries++;
    const reply = answer(msg, table);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  // A send to a client that already gave up surfaces as an ICMP error on some systems: not ours to fail.
  socket.on("error", () => {});

  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: hostname, port: 0 }, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const port = socket.address().port;

  return {
    port,
    hostPort: { hostname, port },
    set(name, records) {
      for (const r of records.a ?? []) checkFamily(r, 4);
      for (const r of records.aaaa ?? []) checkFamily(r, 6);
      table.set(normalize(name), { ...records });
    },
    remove(name) {
      table.delete(normalize(name));
    },
    get queries() {
      return queries;
    },
    close() {
      closed ??= new Promise<void>((resolve) => socket.close(() => resolve()));
      return closed;
    },
  };
}

function checkFamily(r: DnsRecord, family: 4 | 6): void {
  const type = family === 4 ? "A" : "AAAA";
  if (isIP(addressOf(r)) !== family) throw new Error(`cannot serve ${type} record "${addressOf(r)}": not IPv${family}`);
}

function addressOf(r: DnsRecord): string {
  return typeof r === "string" ? r : r.address;
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** The response datagram for query `msg`, or null when `msg` is not a query worth answering. */
function answer(msg: Uint8Array, table: Map<string, DnsRecords>): Uint8Array | null {
  if (msg.length < 12) return null;
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = view.getUint16(2);
  if (flags & 0x8000) return null; // QR set: a response, not a query
  const opcode = (flags >> 11) & 0xf;
  const qdcount = view.getUint16(4);

  const q = qdcount === 1 && opcode === 0 ? readQuestion(msg, 12) : null;
  if (!q) return header(msg, flags, opcode === 0 ? RCODE_FORMERR : RCODE_NOTIMP, new Uint8Array(0), 0, 0);

  const question = msg.subarray(12, q.end);
  const records = table.get(q.name);
  if (!records) return header(msg, flags, RCODE_NXDOMAIN, question, 1, 0);
  if (records.rcode) return header(msg, flags, records.rcode, question, 1, 0);
  if (q.qclass !== CLASS_IN) return header(msg, flags, 0, question, 1, 0);

  const kind = q.qtype === TYPE_A ? "a" : q.qtype === TYPE_AAAA ? "aaaa" : null;
  if (kind && records.ignore?.includes(kind)) return null;
  const rrs = (kind ? records[kind] ?? [] : []).map((r) =>
    resourceRecord(q.qtype, typeof r === "string" ? records.ttl ?? 30 : r.ttl, addressOf(r))
  );
  return header(msg, flags, 0, concat([question, ...rrs]), 1, rrs.length);
}

/** Header (RFC 1035 §4.1.1) echoing the query's ID and RD bit, AA set, followed by `body`. */
function header(
  query: Uint8Array,
  qflags: number,
  rcode: number,
  body: Uint8Array,
  qd: number,
  an: number,
): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, (query[0] << 8) | query[1]);
  const rd = qflags & 0x0100;
  v.setUint16(2, 0x8000 | (qflags & 0x7800) | 0x0400 | rd | rcode); // QR, opcode, AA, RD, rcode
  v.setUint16(4, qd);
  v.setUint16(6, an);
  // NSCOUNT and ARCOUNT stay 0: no authority section, and an EDNS OPT from the client is not echoed
  // (a server without EDNS support answers plainly, RFC 6891 §7).
  out.set(body, 12);
  return out;
}

/** The question section (RFC 1035 §4.1.2) at `off`; labels are copied back verbatim by the caller. */
function readQuestion(
  msg: Uint8Array,
  off: number,
): { name: string; qtype: number; qclass: number; end: number } | null {
  const labels: string[] = [];
  for (;;) {
    if (off >= msg.length) return null;
    const len = msg[off++];
    if (len === 0) break;
    if (len > 63 || off + len > msg.length) return null; // a pointer in a question is possible but no resolver sends one
    labels.push(String.fromCharCode(...msg.subarray(off, off + len)));
    off += len;
  }
  if (off + 4 > msg.length) return null;
  const qtype = (msg[off] << 8) | msg[off + 1];
  const qclass = (msg[off + 2] << 8) | msg[off + 3];
  return { name: normalize(labels.join(".")), qtype, qclass, end: off + 4 };
}

/** One answer RR (RFC 1035 §4.1.3) whose name is a pointer to the question name at offset 12 (§4.1.4). */
function resourceRecord(type: number, ttl: number, address: string): Uint8Array {
  const rdata = type === TYPE_A ? ipv4Bytes(address) : ipv6Bytes(address);
  const out = new Uint8Array(12 + rdata.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xc000 | 12);
  v.setUint16(2, type);
  v.setUint16(4, CLASS_IN);
  v.setUint32(6, ttl);
  v.setUint16(10, rdata.length);
  out.set(rdata, 12);
  return out;
}

function ipv4Bytes(a: string): Uint8Array {
  return Uint8Array.from(a.split(".").map(Number));
}

function ipv6Bytes(a: string): Uint8Array {
  const [head, tail] = a.includes("::") ? a.split("::") : [a, null];
  const groups = (s: string): number[] => {
    if (s === "") return [];
    const parts = s.split(":");
    const last = parts[parts.length - 1];
    if (last.includes(".")) {
      // Embedded IPv4 (e.g. ::ffff:1.2.3.4) counts as two groups.
      const b = ipv4Bytes(last);
      parts.splice(-1, 1, ((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16));
    }
    return parts.map((p) => parseInt(p, 16));
  };
  const h = groups(head);
  const t = tail === null ? [] : groups(tail);
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
