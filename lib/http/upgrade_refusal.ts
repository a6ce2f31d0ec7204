/** Checks a server's 101 (Switching Protocols) against what the client asked to upgrade to. */

/**
 * Why a 101 must not be passed on, or null. RFC 9110 §15.2.2: the server MUST send Upgrade
 * naming the protocol(s) now in effect; §7.8: it may only switch to protocols the client listed.
 * A switch to anything else would tunnel bytes neither side agreed on. Protocol names compare
 * case-insensitively; a version the server names must be one the client named, or the client
 * named that protocol without a version.
 */
export function upgradeRefusal(asked: string, answered: string): string | null {
  const offered = asked.split(",").map((p) => p.trim().toLowerCase()).filter(Boolean);
  const chosen = answered.split(",").map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (chosen.length === 0) return "switched protocols without naming the protocol (no Upgrade field)";
  for (const p of chosen) {
    const name = p.split("/")[0];
    if (!offered.some((o) => o === p || o === name)) {
      return `switched to ${JSON.stringify(p)}, which the client did not ask for (it asked for ${JSON.stringify(asked)})`;
    }
  }
  return null;
}
