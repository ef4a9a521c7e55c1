// The CGI contract with `git http-backend`: what it is told about a request, and how its answer is read.
import { describe, expect, test } from "vitest";
import { cgiEnv, headerEnd, parseCgiHead } from "../../src/sim/sources/cgi.ts";

describe("CGI for git http-backend", () => {
  test("a request becomes the meta-variables, every header as HTTP_* (Git-Protocol selects protocol v2)", () => {
    const env = cgiEnv({
      method: "POST",
      pathInfo: "/tree.git/git-upload-pack",
      query: "",
      remoteAddr: "127.0.0.1",
      headers: {
        "content-type": "application/x-git-upload-pack-request",
        "content-length": "42",
        "git-protocol": "version=2",
        "content-encoding": "gzip",
      },
    });
    expect(env).toMatchObject({
      REQUEST_METHOD: "POST",
      PATH_INFO: "/tree.git/git-upload-pack",
      QUERY_STRING: "",
      CONTENT_TYPE: "application/x-git-upload-pack-request",
      CONTENT_LENGTH: "42",
      HTTP_GIT_PROTOCOL: "version=2",
      HTTP_CONTENT_ENCODING: "gzip",
    });
    expect(env).not.toHaveProperty("HTTP_CONTENT_TYPE");
  });

  test("a chunked body has no CONTENT_LENGTH, so git reads it to its end", () => {
    const env = cgiEnv({ method: "POST", pathInfo: "/x", query: "", remoteAddr: "", headers: {} });
    expect(env).not.toHaveProperty("CONTENT_LENGTH");
  });

  test("the header block ends at the first blank line, LF or CRLF, and the body starts after it", () => {
    expect(headerEnd(Buffer.from("Content-Type: a"))).toBeUndefined();
    const lf = Buffer.from("Status: 404 Not Found\nContent-Type: text/plain\n\nbody\n\nmore");
    expect(headerEnd(lf)).toEqual({ head: "Status: 404 Not Found\nContent-Type: text/plain", bodyStart: 48 });
    const crlf = Buffer.from("Expires: 0\r\n\r\nPACK\n\n");
    expect(headerEnd(crlf)).toEqual({ head: "Expires: 0", bodyStart: 14 });
  });

  test("Status sets the HTTP status (200 when absent); other headers pass on as written", () => {
    expect(parseCgiHead("Status: 403 Forbidden\nContent-Type: text/plain")).toEqual({
      status: 403,
      headers: [["Content-Type", "text/plain"]],
    });
    expect(
      parseCgiHead("Cache-Control: no-cache\r\nContent-Type: application/x-git-upload-pack-advertisement"),
    ).toEqual({
      status: 200,
      headers: [
        ["Cache-Control", "no-cache"],
        ["Content-Type", "application/x-git-upload-pack-advertisement"],
      ],
    });
  });
});
