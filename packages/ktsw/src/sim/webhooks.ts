import type { Kubectl } from "./kubectl.ts";

// Admission webhooks served by pods: on the sim no container runs (kwok only marks pods Running), so a webhook whose
// backend is a Service never answers, and every request it covers would fail (failurePolicy Fail) or wait out its
// timeout (Ignore). The sim relaxes each such webhook: it narrows the webhook to objects carrying a label nothing
// carries, so the API server stops calling it, and records why on the configuration. Each one is printed; nothing is
// relaxed silently. Webhooks with a `url` (the sim's own local processes, e.g. Gatekeeper) are left as they are.
// Pure: configurations in, patches and lines out.

interface ServiceRef {
  namespace?: string;
  name?: string;
}

interface Webhook {
  name?: string;
  clientConfig?: { service?: ServiceRef; url?: string };
  objectSelector?: { matchExpressions?: { key?: string; operator?: string }[] };
}

interface WebhookConfiguration {
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  webhooks?: Webhook[];
}

/** The label no object carries: a webhook that requires it is never called. */
export const relaxedLabel = "sim.ktsw.dev/webhook-backend-runs";
/** Where the sim writes why it relaxed a configuration. */
export const relaxedAnnotation = "sim.ktsw.dev/relaxed";

export interface Relaxation {
  kind: string;
  name: string;
  /** kubectl patch --type=json operations. */
  patch: unknown[];
  line: string;
}

const isRelaxed = (w: Webhook) =>
  (w.objectSelector?.matchExpressions ?? []).some((e) => e.key === relaxedLabel && e.operator === "Exists");

export function relaxations(list: { items?: WebhookConfiguration[] }): Relaxation[] {
  const out: Relaxation[] = [];
  for (const config of list.items ?? []) {
    const indices = (config.webhooks ?? [])
      .map((w, i) => ({ w, i }))
      .filter(({ w }) => w.clientConfig?.service && !isRelaxed(w));
    if (indices.length === 0) continue;
    const services = [
      ...new Set(indices.map(({ w }) => `${w.clientConfig?.service?.namespace}/${w.clientConfig?.service?.name}`)),
    ];
    const why = `served by Service ${services.join(", ")}, whose pods run no container on the sim`;
    const kind = config.kind ?? "ValidatingWebhookConfiguration";
    const name = config.metadata?.name ?? "";
    out.push({
      kind,
      name,
      patch: [
        ...indices.map(({ i }) => ({
          op: "add",
          path: `/webhooks/${i}/objectSelector`,
          value: { matchExpressions: [{ key: relaxedLabel, operator: "Exists" }] },
        })),
        ...(config.metadata?.annotations ? [] : [{ op: "add", path: "/metadata/annotations", value: {} }]),
        { op: "add", path: `/metadata/annotations/${relaxedAnnotation.replace("/", "~1")}`, value: why },
      ],
      line: `relaxed ${kind} ${name} (${indices.map(({ w }) => w.name).join(", ")}): ${why}`,
    });
  }
  return out;
}

/** Relaxes every webhook the sim cannot serve, printing each; what was relaxed. */
export async function relaxWebhooks(kubectl: Kubectl, progress: (line: string) => void): Promise<Relaxation[]> {
  const done: Relaxation[] = [];
  for (const resource of ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]) {
    const list = JSON.parse(await kubectl(["get", resource, "-o", "json"]));
    const kind = resource.startsWith("validating") ? "ValidatingWebhookConfiguration" : "MutatingWebhookConfiguration";
    for (const item of list.items ?? []) item.kind ??= kind;
    for (const r of relaxations(list)) {
      await kubectl(["patch", resource, r.name, "--type=json", "-p", JSON.stringify(r.patch)]);
      progress(r.line);
      done.push(r);
    }
  }
  return done;
}
