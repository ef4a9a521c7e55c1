// The sim's stand-in for the internet, on loopback: git smart HTTP for the sim's repositories through the real
// `git http-backend` (one CGI process per request, as a web server runs it), and the offline Helm repository as
// plain files (its index.yaml names the charts by relative URLs, so any base URL works).
//   /git/<repo>.git/...   git clone / fetch (protocol v0 and v2, shallow too: that is upload-pack's work)
//   /charts/index.yaml    the Helm repository's index, and /charts/<chart>.tgz each chart
//   /healthz              "ok": the sim's readiness check
import { spawn } from "node:child_process";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { devNull } from "node:os";
import { join } from "node:path";
import { requireTool } from "../../tools/find.ts";
import { portInUse } from "../ports.ts";
import { cgiEnv, headerEnd, parseCgiHead } from "./cgi.ts";

export const GIT_PREFIX = "/git";
export const CHARTS_PREFIX = "/charts";
export const SERVER_NAME = "the sim's sources server";

export interface ServeOptions {
  port: number;
  /** The folder of bare repositories (each `<name>.git`). */
  gitRepos: string;
  /** The offline Helm repository: index.yaml + .tgz. */
  charts: string;
  /** Where http-backend's own complaints go (the server's log). */
  log?: (line: string) => void;
}

export class ChartsMissing extends Error {
  override name = "ChartsMissing";
}

/** A missing or wrong charts folder is an error before anything starts, not a 404 for every chart later. */
export function requireHelmRepository(charts: string): void {
  if (!existsSync(join(charts, "index.yaml")))
    throw new ChartsMissing(`${charts} holds no index.yaml: not a Helm repository (index.yaml + .tgz)`);
}

/** Only the files a Helm repository serves, by plain name: no folders, so no path can leave the charts folder. */
const CHART_FILE = /^(index\.yaml|[A-Za-z0-9._+-]+\.tgz(\.prov)?)$/;

function serveChart(res: ServerResponse, charts: string, name: string, head: boolean): void {
  const file = join(charts, name);
  if (!CHART_FILE.test(name) || !existsSync(file)) {
    res.writeHead(404, { "content-type": "text/plain" }).end(`no ${name} in the offline Helm repository\n`);
    return;
  }
  const type = name.endsWith(".yaml") ? "application/x-yaml" : "application/gzip";
  res.writeHead(200, { "content-type": type, "content-length": statSync(file).size });
  if (head) res.end();
  else createReadStream(file).pipe(res);
}

function serveGit(req: IncomingMessage, res: ServerResponse, url: URL, o: ServeOptions): void {
  const pathInfo = decodeURIComponent(url.pathname.slice(GIT_PREFIX.length));
  if (pathInfo.split("/").includes("..")) {
    res.writeHead(400).end();
    return;
  }
  const env = {
    PATH: process.env.PATH ?? "",
    // Only the sim's repositories, every one of them, and no user or system git config.
    GIT_PROJECT_ROOT: o.gitRepos,
    GIT_HTTP_EXPORT_ALL: "1",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: devNull,
    ...cgiEnv({
      method: req.method ?? "GET",
      pathInfo,
      query: url.search.slice(1),
      headers: req.headers,
      remoteAddr: req.socket.remoteAddress ?? "127.0.0.1",
    }),
  };
  const cgi = spawn(requireTool("git"), ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  let pending: Buffer = Buffer.alloc(0);
  let started = false;
  const fail = (why: string) => {
    o.log?.(`git http-backend ${req.method} ${url.pathname}: ${why}`);
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end(`git http-backend: ${why}\n`);
  };
  cgi.stdout.on("data", (chunk: Buffer) => {
    if (started) {
      res.write(chunk);
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    const end = headerEnd(pending);
    if (!end) return;
    started = true;
    const { status, headers } = parseCgiHead(end.head);
    res.writeHead(status, headers.flat());
    res.write(pending.subarray(end.bodyStart));
  });
  cgi.stderr.on("data", (b: Buffer) => o.log?.(`git http-backend: ${b.toString().trimEnd()}`));
  cgi.on("error", (err) => fail(err.message));
  cgi.on("close", (code) => {
    if (!started) fail(`exited (${code}) before its response headers`);
    else res.end();
  });
  // A client that hangs up early must not leave the CGI blocked on a pipe nobody reads.
  cgi.stdin.on("error", () => {});
  res.on("close", () => {
    if (cgi.exitCode === null) cgi.kill();
  });
  req.pipe(cgi.stdin);
}

/** Starts the server on 127.0.0.1:port; rejects with a clear error for a missing charts folder or a port in use. */
export function serveSources(o: ServeOptions): Promise<Server> {
  try {
    requireHelmRepository(o.charts);
  } catch (err) {
    return Promise.reject(err);
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/healthz") res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    else if (url.pathname.startsWith(`${CHARTS_PREFIX}/`) && (req.method === "GET" || req.method === "HEAD"))
      serveChart(res, o.charts, url.pathname.slice(CHARTS_PREFIX.length + 1), req.method === "HEAD");
    else if (url.pathname.startsWith(`${GIT_PREFIX}/`)) serveGit(req, res, url, o);
    else res.writeHead(404, { "content-type": "text/plain" }).end(`nothing at ${url.pathname}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? portInUse(o.port, SERVER_NAME) : err),
    );
    server.listen(o.port, "127.0.0.1", () => resolve(server));
  });
}
