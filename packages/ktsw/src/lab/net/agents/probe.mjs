// Runs inside a lab namespace: tries each target once (TCP connect or a UDP request/answer) and
// prints one JSON line of results. "open" carries the answering host's name; "refused" means the
// firewall or host said no at once (RST or ICMP); "timeout" means the packets were dropped.
import { createSocket } from "node:dgram";
import { connect } from "node:net";

/** @typedef {{ proto: "tcp" | "udp", host: string, port: number, timeoutMs: number }} Target */
/** @type {Target[]} */
const targets = JSON.parse(process.argv[2] ?? "[]");

const refusedCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EACCES", "EPERM"]);

/** @param {Target} t */
function probeTcp(t) {
  return new Promise((resolve) => {
    let body = "";
    let connected = false;
    const socket = connect({ host: t.host, port: t.port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status: connected ? "open" : "timeout", body: body.trim().split("\n").pop() ?? "" });
    }, t.timeoutMs);
    socket.on("connect", () => {
      connected = true;
    });
    socket.on("data", (d) => {
      body += d.toString();
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ status: connected ? "open" : "refused", body: body.trim().split("\n").pop() ?? "" });
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      const code = /** @type {NodeJS.ErrnoException} */ (e).code ?? "";
      resolve({ status: connected ? "open" : refusedCodes.has(code) ? "refused" : `error:${code}`, body: "" });
    });
  });
}

/** @param {Target} t */
function probeUdp(t) {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const done = (/** @type {{status: string, body: string}} */ r) => {
      clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const timer = setTimeout(() => done({ status: "timeout", body: "" }), t.timeoutMs);
    socket.on("message", (m) => done({ status: "open", body: m.toString().trim() }));
    socket.on("error", (e) => {
      const code = /** @type {NodeJS.ErrnoException} */ (e).code ?? "";
      done({ status: refusedCodes.has(code) ? "refused" : `error:${code}`, body: "" });
    });
    socket.connect(t.port, t.host, () => socket.send("probe"));
  });
}

// All at once: a dropped probe costs its timeout only once, not once per target.
const results = await Promise.all(targets.map((t) => (t.proto === "tcp" ? probeTcp(t) : probeUdp(t))));
process.stdout.write(`${JSON.stringify(results)}\n`);
