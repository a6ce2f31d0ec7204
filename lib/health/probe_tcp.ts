/** The `type: tcp` health check: the server passes when it accepts a connection. */
import { connectTo, failed, type ProbeResult, type ProbeTarget } from "./probe_result.ts";

/** Connects to `target` and closes again at once. Never throws. */
export async function probeTcp(target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  try {
    const conn = await connectTo(target, timeoutMs);
    conn.close();
    return { ok: true, detail: "connected" };
  } catch (e) {
    return failed(e, timeoutMs);
  }
}
