// `router apply` against a router: read what it holds, plan (plan.ts), send the calls in order,
// and guard the firewall. OPNsense 26.7 removed the filter savepoint/rollback API
// (opnsense/core#10411), and on 26.1 its timed revert was reported not to fire (opnsense/core#10721),
// so the guard is ours on every version: snapshot KTSW's rules and aliases before, apply, read them back
// through the same API (which also shows that this machine still reaches the router), and if the
// read-back is not what was planned, put the snapshot back and apply again.
import type { ApiCall } from "../render/router/opnsense-api.ts";
import { type Fields, identities, objectKind, settingsGet } from "./endpoints.ts";
import { type RouterApi, RouterUnreachable } from "./http.ts";
import {
  bodyObject,
  changesOf,
  matchObjects,
  planApply,
  type RouterObject,
  type RouterState,
  type Step,
} from "./plan.ts";

/** OPNsense's answer to a get: option-like fields are `{ key: { value, selected } }`; their selected keys. */
export function flatten(node: Record<string, unknown>): Fields {
  const out: Fields = {};
  for (const [name, value] of Object.entries(node)) {
    if (typeof value === "string") out[name] = value;
    else if (value && typeof value === "object") {
      out[name] = Object.entries(value as Record<string, { selected?: unknown }>)
        .filter(([, o]) => Number(o?.selected) === 1)
        .map(([k]) => k)
        .join(",");
    }
  }
  return out;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What the router holds of every kind the calls touch. */
export async function readState(api: RouterApi, calls: readonly ApiCall[]): Promise<RouterState> {
  const state: RouterState = { objects: {}, settings: {} };
  for (const call of calls) {
    const object = bodyObject(call);
    const kind = objectKind(call.path);
    if (!object) continue;
    if (kind && identities[call.path] && !state.objects[call.path]) {
      const found = (await api.post(kind.search, { current: 1, rowCount: -1 })) as { rows?: { uuid?: string }[] };
      const objects: RouterObject[] = [];
      // Filter searches also list the rules OPNsense generates itself, which have no model uuid.
      const uuids = (found.rows ?? []).map((r) => r.uuid ?? "").filter((u) => uuidPattern.test(u));
      for (const uuid of uuids) {
        const got = (await api.get(`${kind.get}/${uuid}`)) as Record<string, Record<string, unknown>>;
        objects.push({ uuid, fields: flatten(got[object[0]] ?? {}) });
      }
      state.objects[call.path] = objects;
    }
    const get = settingsGet(call.path);
    if (get && !state.settings[call.path]) {
      const got = (await api.get(get)) as Record<string, Record<string, unknown>>;
      state.settings[call.path] = flatten(got[object[0]] ?? {});
    }
  }
  return state;
}

/** OPNsense refused a value: its own validation messages, per `<body>.<field>`. */
export class RouterRefused extends Error {
  constructor(
    readonly step: Step,
    readonly validations: Record<string, string>,
    readonly done: readonly Step[],
  ) {
    super(
      [
        `the router refused ${step.path} (${step.what}):`,
        ...Object.entries(validations).map(([field, message]) => `  ${field}: ${message}`),
        done.length === 0
          ? "Nothing was changed before it."
          : "Applied before it (saved on the router; a section takes effect at its reconfigure/apply, so a section cut short is saved but not loaded):",
        ...done.map((s) => `  ${s.method} ${s.path} (${s.what})`),
        "Fix the value in ktsw.yaml (or the router) and run `ktsw router apply` again: it changes only what still differs.",
      ].join("\n"),
    );
  }
}

export interface ApplyOptions {
  /** Values for `{{secret:NAME}}`. */
  secrets: Record<string, string>;
  progress: (line: string) => void;
}

function substitute(body: Record<string, unknown> | undefined, refs: Map<string, string>, o: ApplyOptions) {
  if (!body) return undefined;
  return JSON.parse(
    JSON.stringify(body)
      .replace(/\{\{ref:([^}]+)\}\}/g, (_, name: string) => refs.get(name) ?? "")
      .replace(/\{\{secret:([^}]+)\}\}/g, (_, name: string) => JSON.stringify(o.secrets[name] ?? "").slice(1, -1)),
  ) as Record<string, unknown>;
}

const failed = (answer: unknown) => {
  const a = answer as { result?: string; validations?: Record<string, string>; status?: string };
  if (a?.result === "failed") return a.validations ?? { "": "failed without a message" };
  if (a?.status !== undefined && String(a.status).trim().toLowerCase() !== "ok") return { status: String(a.status) };
  return undefined;
};

/** Sends the steps in order; stops at the first refusal with what was done before it. */
export async function execute(
  api: RouterApi,
  steps: readonly Step[],
  refs: Map<string, string>,
  o: ApplyOptions,
  done: Step[] = [],
): Promise<Step[]> {
  for (const step of steps) {
    const answer = await api.post(step.path, substitute(step.body, refs, o));
    const problems = failed(answer);
    if (problems) throw new RouterRefused(step, problems, done);
    if (step.kind === "add" && step.ref) refs.set(step.ref, String((answer as { uuid?: string }).uuid));
    o.progress(`${step.kind.padEnd(6)} ${step.path} (${step.what})`);
    done.push(step);
  }
  return done;
}

const firewallPaths = ["/api/firewall/alias/add_item", "/api/firewall/filter/add_rule"];

/** KTSW's firewall objects as calls that would recreate them (the revert's desired state). */
function snapshotCalls(state: RouterState): ApiCall[] {
  return firewallPaths.flatMap((path) =>
    (state.objects[path] ?? [])
      .filter((o) => identities[path]?.owned(o.fields, new Map()))
      .map((o) => {
        const body = path.includes("alias") ? "alias" : "rule";
        // An alias get lists its entries as options; the alias model takes them one per line.
        const fields =
          body === "alias" ? { ...o.fields, content: (o.fields.content ?? "").split(",").join("\n") } : o.fields;
        return { method: "POST" as const, path, body: { [body]: fields } };
      }),
  );
}

export interface ApplyResult {
  steps: Step[];
  changed: number;
}

/** Applies the calls; throws RouterRefused, RouterUnreachable/RouterAuthFailed or a verify failure. */
export async function applyToRouter(api: RouterApi, calls: readonly ApiCall[], o: ApplyOptions): Promise<ApplyResult> {
  const before = await readState(api, calls);
  const steps = planApply(calls, before);
  const missing = steps
    .filter((s) => s.kind === "add")
    .flatMap((s) => [...JSON.stringify(s.body).matchAll(/\{\{secret:([^}]+)\}\}/g)].map((m) => m[1] ?? ""))
    .filter((name) => o.secrets[name] === undefined);
  if (missing.length > 0)
    throw new Error(`a new object needs the secret(s) ${missing.join(", ")}: pass --secret NAME=FILE`);
  const { refs } = matchObjects(calls, before);
  await execute(api, steps, refs, o);
  // Verify: the firewall as planned, read back through the API after the filter apply.
  const firewall = calls.filter((c) => c.path.startsWith("/api/firewall/"));
  const after = await readState(api, firewall).catch((err: unknown) => {
    if (!(err instanceof RouterUnreachable)) throw err;
    throw new RouterUnreachable(
      `${err.message}\nIt answered until the filter apply: the new rules may shut this machine out, and ktsw cannot ` +
        "reach it to put them back. At the router's console, restore the backup from before this run (the console menu's " +
        "backup restore) or run `pfctl -d` in its shell to stop the packet filter until the next reload.",
    );
  });
  const drift = changesOf(planApply(firewall, after));
  if (drift.length > 0) {
    o.progress(
      `verify: the router's firewall differs from the plan (${drift.map((s) => s.what).join("; ")}); reverting`,
    );
    const revert = planApply([...snapshotCalls(before), ...firewall.filter((c) => !bodyObject(c))], after);
    await execute(api, revert, new Map(), o);
    throw new Error(
      "the firewall read back after the apply differed from the plan; KTSW's rules and aliases were put back as they were",
    );
  }
  return { steps, changed: changesOf(steps).length };
}
