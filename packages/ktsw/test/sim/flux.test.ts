// Flux's controllers as the sim runs them, read without starting anything: the release deps/sim-tools.txt pins, the
// admin kubeconfig, and source-controller advertising the very address its artifact server binds (kustomize- and
// helm-controller download the tree and the charts from the URL it advertises).
import { describe, expect, test } from "vitest";
import { fluxControllers, fluxProcesses, fluxReadyz } from "../../src/sim/flux.ts";
import { simLayout } from "../../src/sim/layout.ts";
import { readDepLists } from "../../src/tools/deps.ts";

const layout = simLayout("/state");
const ports = {
  artifacts: 9090,
  health: { "source-controller": 9441, "kustomize-controller": 9442, "helm-controller": 9443 },
};

describe("the sim's Flux controllers", () => {
  test("are the source, kustomize and helm controllers of one Flux release, each pinned in deps/sim-tools.txt", () => {
    const sim = readDepLists().sim;
    const pinned = fluxControllers.map((name) => sim.find((d) => d.name === name)?.module ?? `${name}: not pinned`);
    expect(pinned).toEqual([
      "github.com/fluxcd/source-controller@v1.7.3",
      "github.com/fluxcd/kustomize-controller@v1.7.2",
      "github.com/fluxcd/helm-controller@v1.4.3",
    ]);
    for (const name of fluxControllers) expect(sim.find((d) => d.name === name)?.wrapper).toBe("published-api");
  });

  test("run with the admin kubeconfig in flux-system's place, each with its own health port", () => {
    const processes = fluxProcesses(ports, layout);
    expect(processes.map((p) => p.name)).toEqual([...fluxControllers]);
    for (const p of processes) {
      expect(p.env).toMatchObject({ KUBECONFIG: layout.kubeconfig, RUNTIME_NAMESPACE: "flux-system" });
      expect(p.args).toContain(`--health-addr=127.0.0.1:${ports.health[p.name]}`);
      expect(p.args).toContain("--watch-all-namespaces=true");
    }
    expect(fluxReadyz(ports, "helm-controller")).toBe("http://127.0.0.1:9443/readyz");
  });

  test("source-controller advertises the address its artifact server binds, and stores in the state folder", () => {
    const source = fluxProcesses(ports, layout).find((p) => p.name === "source-controller");
    expect(source?.args).toContain("--storage-addr=127.0.0.1:9090");
    expect(source?.args).toContain("--storage-adv-addr=127.0.0.1:9090");
    expect(source?.args).toContain(`--storage-path=${layout.fluxArtifacts}`);
  });
});
