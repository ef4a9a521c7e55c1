// What one pod asks for, by Kubernetes' own rules (k8s.io/component-helpers resource.PodRequests):
// the containers add up; init containers run one at a time, so the pod needs the largest of them,
// plus the sidecars (init containers with restartPolicy Always) started before it; sidecars keep
// running, so they also add to the containers. A resource with a limit but no request is requested
// at its limit (the API server defaults it so). Pod overhead is not counted: no RuntimeClass here.
import { get } from "../validate/flux.ts";
import { parseCpu, parseMemory } from "./quantity.ts";

export interface Amounts {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

export const none: Amounts = { cpu: 0, memory: 0 };
export const resourceNames = ["cpu", "memory"] as const;
export type ResourceName = (typeof resourceNames)[number];

export const add = (a: Amounts, b: Amounts): Amounts => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory });
export const max = (a: Amounts, b: Amounts): Amounts => ({
  cpu: Math.max(a.cpu, b.cpu),
  memory: Math.max(a.memory, b.memory),
});
export const times = (a: Amounts, n: number): Amounts => ({ cpu: a.cpu * n, memory: a.memory * n });

export interface ContainerProblem {
  container: string;
  /** What is wrong: a request that is not there, or a quantity that is not one. */
  message: string;
  kind: "no-request" | "bad-quantity";
}

export interface PodResources {
  requests: Amounts;
  /** Sum of the limits that are set; `unlimited` names the resources some container leaves unbounded. */
  limits: Amounts;
  unlimited: ResourceName[];
  problems: ContainerProblem[];
}

interface ContainerAmounts {
  requests: Amounts;
  limits: Amounts;
  unlimited: Set<ResourceName>;
}

const parsers: Record<ResourceName, (v: unknown) => number | undefined> = { cpu: parseCpu, memory: parseMemory };

function containerAmounts(container: unknown, label: string, problems: ContainerProblem[]): ContainerAmounts {
  const requests = { ...none };
  const limits = { ...none };
  const unlimited = new Set<ResourceName>();
  for (const r of resourceNames) {
    const read = (field: "requests" | "limits"): number | undefined => {
      const raw = get(container, "resources", field, r);
      if (raw === undefined || raw === null) return undefined;
      const value = parsers[r](raw);
      if (value === undefined)
        problems.push({
          container: label,
          message: `resources.${field}.${r} ${JSON.stringify(raw)} is not a Kubernetes quantity`,
          kind: "bad-quantity",
        });
      return value;
    };
    const limit = read("limits");
    const request = read("requests") ?? limit;
    if (request === undefined) problems.push({ container: label, message: `has no ${r} request`, kind: "no-request" });
    requests[r] = request ?? 0;
    if (limit === undefined) unlimited.add(r);
    limits[r] = limit ?? 0;
  }
  return { requests, limits, unlimited };
}

const nameOfContainer = (c: unknown, i: number): string => {
  const n = get(c, "name");
  return typeof n === "string" ? n : `#${i}`;
};

/** Requests and limits of a pod spec (`containers`, `initContainers`), with what is missing per container. */
export function podResources(spec: unknown): PodResources {
  const problems: ContainerProblem[] = [];
  const list = (field: string): unknown[] => {
    const v = get(spec, field);
    return Array.isArray(v) ? v : [];
  };
  let requests = { ...none };
  let limits = { ...none };
  const unlimited = new Set<ResourceName>();
  for (const [i, c] of list("containers").entries()) {
    const a = containerAmounts(c, nameOfContainer(c, i), problems);
    requests = add(requests, a.requests);
    limits = add(limits, a.limits);
    for (const r of a.unlimited) unlimited.add(r);
  }
  let sidecarRequests = { ...none };
  let sidecarLimits = { ...none };
  let initRequests = { ...none };
  let initLimits = { ...none };
  for (const [i, c] of list("initContainers").entries()) {
    const a = containerAmounts(c, `${nameOfContainer(c, i)} (init)`, problems);
    for (const r of a.unlimited) unlimited.add(r);
    if (get(c, "restartPolicy") === "Always") {
      requests = add(requests, a.requests);
      limits = add(limits, a.limits);
      sidecarRequests = add(sidecarRequests, a.requests);
      sidecarLimits = add(sidecarLimits, a.limits);
      initRequests = max(initRequests, sidecarRequests);
      initLimits = max(initLimits, sidecarLimits);
    } else {
      initRequests = max(initRequests, add(a.requests, sidecarRequests));
      initLimits = max(initLimits, add(a.limits, sidecarLimits));
    }
  }
  return {
    requests: max(requests, initRequests),
    limits: max(limits, initLimits),
    unlimited: resourceNames.filter((r) => unlimited.has(r)),
    problems,
  };
}
