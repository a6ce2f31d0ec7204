/**
 * The path as routing sees it. The request target is forwarded byte for byte, but routes are
 * matched against a normalised path, as nginx and Caddy do: otherwise `/%61dmin`, `//admin` or
 * `/x/../admin` would slip past a `path: /admin` rule while the backend, which normalises,
 * serves /admin.
 *
 * Steps: percent-encoded printable ASCII is decoded (RFC 3986 §6.2.2.2 for unreserved characters;
 * nginx decodes the rest too, so an encoded "/" or "." cannot hide a segment), a decoded "\" is
 * taken for "/" (as IIS and others do with `%5C`), segment parameters (`;jsessionid=1`, RFC 3986
 * §3.3) are dropped (Tomcat and others serve `/admin;x` and `/x/..;/admin` as /admin), runs of
 * "/" are merged (nginx's merge_slashes), and dot segments are removed (RFC 3986 §5.2.4), never
 * above the root. Encoded control bytes, space and non-ASCII bytes stay encoded. Every step errs
 * toward matching: a route that guards a path must see every spelling a backend may serve as it.
 */
export function normalizePath(path: string): string {
  if (!path.startsWith("/")) return path; // "*" (OPTIONS) and the like
  let p = path.includes("%") ? decodePrintable(path) : path;
  if (p.includes("\\")) p = p.replaceAll("\\", "/");
  if (p.includes(";")) p = p.replace(/;[^/]*/g, "");
  if (!p.includes("//") && !p.includes("/.")) return p;
  p = p.replace(/\/{2,}/g, "/");
  const out: string[] = [];
  const segments = p.split("/");
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === ".") {
      if (last) out.push("");
    } else if (seg === "..") {
      out.pop();
      if (last) out.push("");
    } else {
      out.push(seg);
    }
  }
  return "/" + out.join("/");
}

function decodePrintable(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = parseInt(hex, 16);
    return c >= 0x21 && c <= 0x7e ? String.fromCharCode(c) : m;
  });
}
