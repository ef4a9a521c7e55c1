// Ports for the sim, chosen when it starts: a port the OS hands out as free, or one the user asked for, checked.
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

export const freePort = (): Promise<number> => bindOnce(0);

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
