// The CGI side of `git http-backend` (RFC 3875): the request as environment variables in, the response's header
// block (a `Status:` line and ordinary headers, then a blank line) out. Pure, so a test reads both directly.
import type { IncomingHttpHeaders } from "node:http";

export interface CgiRequest {
  method: string;
  /** The path after the CGI's own prefix, e.g. `/tree.git/info/refs`. */
  pathInfo: string;
  query: string;
  headers: IncomingHttpHeaders;
  remoteAddr: string;
}

/** The CGI meta-variables of a request. Every request header is passed as HTTP_*: git reads Git-Protocol (protocol
 *  v2) and Content-Encoding (gzip'd fetch negotiation) that way. */
export function cgiEnv(r: CgiRequest): Record<string, string> {
  const env: Record<string, string> = {
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_METHOD: r.method,
    PATH_INFO: r.pathInfo,
    QUERY_STRING: r.query,
    REMOTE_ADDR: r.remoteAddr,
    CONTENT_TYPE: String(r.headers["content-type"] ?? ""),
  };
  // Without a length (a chunked body) git reads the body to its end.
  if (r.headers["content-length"] !== undefined) env.CONTENT_LENGTH = String(r.headers["content-length"]);
  for (const [name, value] of Object.entries(r.headers)) {
    if (value === undefined || name === "content-type" || name === "content-length") continue;
    env[`HTTP_${name.toUpperCase().replaceAll("-", "_")}`] = Array.isArray(value) ? value.join(", ") : value;
  }
  return env;
}

/** Where the header block of a CGI's output ends and its body starts, once the blank line has arrived. */
export function headerEnd(output: Buffer): { head: string; bodyStart: number } | undefined {
  const crlf = output.indexOf("\r\n\r\n");
  const lf = output.indexOf("\n\n");
  const ends = [crlf === -1 ? undefined : { at: crlf, gap: 4 }, lf === -1 ? undefined : { at: lf, gap: 2 }].filter(
    (e) => e !== undefined,
  );
  const first = ends.sort((a, b) => a.at - b.at)[0];
  return first ? { head: output.subarray(0, first.at).toString("latin1"), bodyStart: first.at + first.gap } : undefined;
}

/** The status and headers of a CGI header block; `Status: 404 Not Found` sets the status (default 200). */
export function parseCgiHead(head: string): { status: number; headers: [string, string][] } {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers };
}
