import type { Candidate } from "../../lib/balance/mod.ts";

/** A server as a balancing policy sees it. */
export class FakeServer implements Candidate {
  inflight = 0;
  up = true;
  constructor(readonly address: string, readonly weight = 1) {}
  available(): boolean {
    return this.up;
  }
}

export const servers = (spec: Record<string, number>): FakeServer[] =>
  Object.entries(spec).map(([name, w]) => new FakeServer(name, w));
