import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ServiceProcesses, startServiceProcesses } from "../src/processes.ts";
import { type Infra, infraUrls, startInfra } from "../src/stack.ts";
import { skipReason } from "../src/testkit.ts";

// The three services as processes of their own (what bench:app measures): each its own Node, a job
// goes through all of them, and stopping leaves none behind.

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(skipReason)("services as processes of their own", () => {
  let infra: Infra;
  let svc: ServiceProcesses | undefined;

  beforeAll(async () => {
    infra = await startInfra();
  }, 60_000);

  afterAll(async () => {
    await svc?.stop();
    await infra?.stop();
  });

  test("each service runs in its own process, a job goes end to end, and stop ends them all", async () => {
    svc = await startServiceProcesses(infraUrls(infra));
    const pids = [svc.gateway.pid(), svc.worker.pid(), svc.status.pid()] as number[];
    expect(new Set([...pids, process.pid]).size).toBe(4);

    const token = await infra.issuer.issue({ expiresIn: 600 });
    const auth = { authorization: `Bearer ${token}` };
    const res = await fetch(`${svc.gateway.url}/v1/jobs`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ type: "hash", payload: { data: "as processes", rounds: 1 } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await expect
      .poll(
        async () =>
          (
            (await (
              await fetch(`${(svc as ServiceProcesses).status.url}/v1/jobs/${id}`, { headers: auth })
            ).json()) as {
              status?: string;
            }
          ).status,
        { timeout: 30_000, interval: 200 },
      )
      .toBe("succeeded");

    await svc.stop();
    expect(svc.crashes()).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  }, 120_000);
});
