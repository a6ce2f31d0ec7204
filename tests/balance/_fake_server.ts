import type { Candidate } from "../../lib/balance/mod.ts";

/** A server as a balancing policy sees it. */
export class FakeServer implements Candidate {
  inflight = 0;
  up = true;
  /** Like a server's `max_conns`: at this many in flight it is full, so not available. */
  maxConns = Infinity;
  constructor(readonly address: string, public weight = 1) {}
  available(): boolean {
    return this.up && this.inflight < this.maxConns;
  }
}

export const servers = (spec: Record<string, number>): FakeServer[] =>
  Object.entries(spec).map(([name, w]) => new FakeServer(name, w));
