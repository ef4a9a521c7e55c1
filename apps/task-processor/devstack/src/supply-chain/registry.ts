import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { type RunningServer, startHttpTool } from "../servers.ts";

// The CNCF distribution registry (built from its Go module, deps/go-tools.txt) as the signing proof runs it: plain
// HTTP on loopback, blobs in its temp dir. Clients built on go-containerregistry (crane, cosign, Ratify's ORAS store
// with useHttp) speak HTTP to a loopback registry, so no certificate is needed here; Harbor in the cluster is HTTPS.

/** The registry's configuration file (pure): listen on `port`, store under `dataDir`, log only errors. */
export function registryConfig(port: number, dataDir: string) {
  return {
    version: 0.1,
    log: { level: "error", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: dataDir }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}` },
  };
}

export interface Registry extends RunningServer {
  /** `127.0.0.1:<port>`: the registry part of an image reference. */
  host: string;
}

export async function startRegistry(): Promise<Registry> {
  const server = await startHttpTool("registry", (port, dir) => {
    const config = join(dir, "config.yml");
    writeFileSync(config, stringify(registryConfig(port, join(dir, "data"))));
    return ["serve", config];
  });
  return Object.assign(server, { host: `127.0.0.1:${server.port}` });
}
