// Loopback ports for servers started a moment later (the sim's, the task processor's devstack): one picked
// free, or one the user asked for, checked.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Binds `port` on loopback (0: any free one) and releases it again, returning the port that was bound. */
function bindOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** The kernel's range for ports it picks itself: outgoing connections and `listen(0)`. */
export function ephemeralRange(read: () => string = () => readFileSync(RANGE_FILE, "utf8")): [number, number] {
  try {
    const [low, high] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && (low as number) <= (high as number))
      return [low as number, high as number];
  } catch {
    // no /proc (or not Linux): the kernel's documented default
  }
  return [32768, 60999];
}

const RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range";
/** The lowest port handed out: below it are the well-known ports many services default to. */
const LOWEST = 10000;
const handedOut = new Set<number>();

/**
 * A free loopback port below the kernel's ephemeral range. The sim picks its ports when it starts
 * and its processes bind them up to a minute later (the devstack's servers, a moment later); a port
 * from the ephemeral range could meanwhile be taken by any outgoing connection on the machine (the
 * sim's own kubectl and controllers make hundreds), and the process meant to listen there fails with
 * "address already in use". Below the range only another listener can take it; each candidate is
 * checked free, and none is handed out twice by this process.
 */
export async function freePort(random: () => number = Math.random): Promise<number> {
  const [low] = ephemeralRange();
  const span = low - LOWEST;
  if (span < 1000) return bindOnce(0); // an unusual range: leave the choice to the kernel
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(random() * span);
    if (handedOut.has(port)) continue;
    try {
      await bindOnce(port);
      handedOut.add(port);
      return port;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" && code !== "EACCES") throw err;
    }
  }
  return bindOnce(0);
}

export class PortInUse extends Error {
  override name = "PortInUse";
}

/** The error for a port something else holds, naming it and what it was for. */
export const portInUse = (port: number, what: string) =>
  new PortInUse(`port ${port} (${what}) is in use: stop what holds it or pick another`);

/** The port itself when nothing listens on it; otherwise a PortInUse that names it and what it was for. */
export async function checkPortFree(port: number, what: string): Promise<number> {
  try {
    return await bindOnce(port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw portInUse(port, what);
    throw err;
  }
}
