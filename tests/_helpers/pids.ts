/**
 * Child processes a test (or the soak) started and has not reaped yet: killed by PID with
 * SIGKILL if this process exits first, so a failed or interrupted run leaves nothing behind.
 */
import process from "node:process";

const live = new Set<number>();
process.on("exit", () => {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
});

/** Kill `pid` if this process exits before `untrack(pid)`. */
export function track(pid: number | undefined): void {
  if (pid && pid > 0) live.add(pid);
}

/** `pid` has exited (or was stopped): forget it. */
export function untrack(pid: number | undefined): void {
  if (pid) live.delete(pid);
}
