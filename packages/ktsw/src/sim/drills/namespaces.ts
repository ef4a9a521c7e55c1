// Deleting namespaces in the sim the way a disaster would, and knowing when it is over. The sim serves no aggregated
// API (KEDA's external.metrics.k8s.io has no server here), so the namespace controller, unable to list every kind,
// never lifts its finalizer: once its own conditions say the namespace is empty, the drill finalizes it. The
// controller keeps retrying meanwhile, and a pass of it that began before the finalize goes on deleting each kind by
// namespace *name* (DeleteCollection, no UID precondition), in random order: had the namespace been made again by
// then (a restore), that pass would delete what was just restored. So the drill also waits until the controller has
// no pass in flight, read from its work queue's metrics.
import { request } from "node:https";
import { performance } from "node:perf_hooks";
import { poll } from "../../lab/net/poll.ts";
import type { Kubectl } from "../kubectl.ts";

/** Why the drill finalizes an emptied namespace itself, said in its report. */
export const STUCK =
  "the sim serves no aggregated API (KEDA's external.metrics.k8s.io has no server here), so the namespace controller, unable to list every kind, never lifts its finalizer; on a cluster KEDA's metrics server answers";

interface NamespaceStatus {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

const condition = (ns: NamespaceStatus, type: string) => ns.status?.conditions?.find((c) => c.type === type)?.status;

/** The namespace controller's own word that the namespace is empty and only discovery keeps it: its content and
 *  content finalizers are gone, and listing the API's kinds failed. */
export const emptiedButStuck = (ns: NamespaceStatus) =>
  condition(ns, "NamespaceDeletionDiscoveryFailure") === "True" &&
  condition(ns, "NamespaceContentRemaining") === "False" &&
  condition(ns, "NamespaceFinalizersRemaining") === "False";

export interface DeleteOptions {
  kubectl: Kubectl;
  /** The controller manager's metrics port (the sim's state), whose namespace work queue the drill waits on. */
  controllerManagerPort: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Deletes the namespaces and waits until they are gone and the namespace controller is done with them; a namespace
 *  the controller emptied but cannot finish (emptiedButStuck) is finalized through its `finalize` subresource.
 *  Resolves to the ones finalized so, and how long the controller was waited for after they were gone. */
export async function deleteNamespaces(
  o: DeleteOptions,
  names: readonly string[],
): Promise<{ finalized: string[]; controllerWaitSeconds: number }> {
  await o.kubectl(["delete", "namespace", ...names, "--ignore-not-found", "--wait=false"]);
  const finalized: string[] = [];
  const signal = o.signal ? { signal: o.signal } : {};
  await poll(
    `namespaces ${names.join(", ")} to be gone`,
    async () => {
      const all = JSON.parse(await o.kubectl(["get", "namespaces", "-o", "json"])) as { items: NamespaceStatus[] };
      const left = all.items.filter((n) => names.includes(n.metadata.name));
      for (const ns of left.filter(emptiedButStuck)) {
        const body = JSON.stringify({
          apiVersion: "v1",
          kind: "Namespace",
          metadata: ns.metadata,
          spec: { finalizers: [] },
        });
        await o.kubectl(["replace", "--raw", `/api/v1/namespaces/${ns.metadata.name}/finalize`, "-f", "-"], body);
        finalized.push(ns.metadata.name);
      }
      return left.map((n) => n.metadata.name);
    },
    (left) => left.length === 0,
    { timeoutMs: o.timeoutMs, everyMs: 1_000, ...signal },
  );
  const gone = performance.now();
  await namespaceControllerIdle(o.controllerManagerPort, o.timeoutMs, o.signal);
  return { finalized, controllerWaitSeconds: (performance.now() - gone) / 1000 };
}

/** The namespace work queue's metrics: items waiting, and seconds of work in flight (summed over its workers). */
export interface QueueReading {
  depth: number;
  unfinishedSeconds: number;
}

/** Reads the `namespace` work queue out of the controller manager's Prometheus text; undefined if it is not there. */
export function namespaceQueue(metrics: string): QueueReading | undefined {
  const value = (metric: string) => {
    const line = metrics.split("\n").find((l) => l.startsWith(`${metric}{`) && l.includes('name="namespace"'));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  const depth = value("workqueue_depth");
  const unfinishedSeconds = value("workqueue_unfinished_work_seconds");
  return depth === undefined || unfinishedSeconds === undefined ? undefined : { depth, unfinishedSeconds };
}

/** The work queue updates its in-flight figure every 500 ms (client-go's default): two idle readings further apart
 *  than that mean no pass was running in between, not one too young to be counted. */
const QUEUE_UPDATE_MS = 500;

/** Waits until the namespace controller has nothing queued and nothing in flight, seen twice QUEUE_UPDATE_MS apart.
 *  A pass that starts later finds the namespace gone (or made again, not terminating) and touches nothing. */
async function namespaceControllerIdle(port: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  let idleSince: number | undefined;
  await poll(
    "the namespace controller to have no pass in flight",
    async () => {
      const reading = namespaceQueue(await controllerManagerMetrics(port));
      if (!reading) throw new Error("the controller manager's metrics have no namespace work queue");
      const idle = reading.depth === 0 && reading.unfinishedSeconds === 0;
      idleSince = idle ? (idleSince ?? performance.now()) : undefined;
      return { ...reading, idleForMs: idleSince === undefined ? 0 : performance.now() - idleSince };
    },
    (r) => r.idleForMs > 2 * QUEUE_UPDATE_MS,
    { timeoutMs, everyMs: QUEUE_UPDATE_MS / 2, ...(signal ? { signal } : {}) },
  );
}

/** The controller manager's /metrics. Its serving certificate is one it made for itself at start (the sim gives it
 *  none), so there is nothing to verify it against; it listens on loopback only. */
function controllerManagerMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/metrics", rejectUnauthorized: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(text)
          : reject(new Error(`controller manager /metrics: HTTP ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
