/**
 * `balance: ip_hash`: the rendezvous hashing of `hash`, keyed by the client's whole IP address
 * (IPv4 or IPv6; unlike nginx's ip_hash, not only the first three IPv4 octets, so clients behind
 * one /24 still spread). A pick without a client address falls back to round robin.
 */
import type { Candidate, PickContext } from "./policy.ts";
import { RendezvousHash } from "./hash.ts";

export class IpHash<S extends Candidate = Candidate> extends RendezvousHash<S> {
  protected override keyOf(ctx: PickContext): string | undefined {
    const addr = ctx.clientAddr;
    // A dual-stack listener sees IPv4 clients as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2): the same
    // client must hash alike whichever listener it came through.
    return addr?.toLowerCase().startsWith("::ffff:") && addr.includes(".") ? addr.slice(7) : addr;
  }
}
