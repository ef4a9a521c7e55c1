// A local stand-in for OPNsense's REST API, for `router apply` tests: the endpoints the payload
// uses, state with a uuid per object, basic auth with a key and secret (401 otherwise), and every
// add/set checked against the model description derived from OPNsense's XML (the same validator
// the render tests use): an unknown field is dropped as OPNsense does, a wrong value or a missing
// required field is answered in OPNsense's own shape `{ result: "failed", validations: {…} }`.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { EndpointDescription, ModelDescription } from "../../src/render/router/opnsense-model/derive.ts";
import { validateBody } from "../../src/render/router/opnsense-model/validate.ts";
import { objectKind, settingsGet } from "../../src/router/endpoints.ts";

export const modelDescription = JSON.parse(
  readFileSync(new URL("../network/fixtures/opnsense-models.json", import.meta.url), "utf8"),
) as ModelDescription;

type Fields = Record<string, string>;

export interface FakeOpnsense {
  url: string;
  key: string;
  secret: string;
  /** Objects per add endpoint, by uuid (tests read and seed it). */
  objects: Map<string, Map<string, Fields>>;
  /** Every request the fake answered: method and path. */
  requests: { method: string; path: string }[];
  /** Runs inside the next filter apply: a test's way to make the router not hold what was saved. */
  onFilterApply?: () => void;
  /** Set: every later connection is cut, as when new rules shut the client out. */
  unreachable?: boolean;
  close: () => Promise<void>;
}

const optionLike = (d: EndpointDescription["fields"][string]) =>
  d.options !== undefined ||
  d.multiple === true ||
  d.type === "ModelRelationField" ||
  d.type.endsWith("AliasContentField");

/** A stored object as OPNsense's get answers it: option-like fields as `{ key: { value, selected } }`. */
function asGet(endpoint: EndpointDescription, fields: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const d = endpoint.fields[name];
    if (!d || !optionLike(d) || d.type === "BooleanField") {
      out[name] = value;
      continue;
    }
    const selected = value.split(/[,\n]/).filter(Boolean);
    const keys = new Set([...(d.options ?? []), ...selected]);
    out[name] = Object.fromEntries([...keys].map((k) => [k, { value: k, selected: selected.includes(k) ? 1 : 0 }]));
  }
  return out;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** `tls`: PEM certificate and key to serve HTTPS with (the router's own certificate). */
export async function startFakeOpnsense(o: {
  interfaces: string[];
  tls?: { cert: string; key: string };
}): Promise<FakeOpnsense> {
  const key = "ktsw-test-key";
  const secret = "ktsw-test-secret";
  const objects = new Map<string, Map<string, Fields>>();
  const settings = new Map<string, Fields>();
  const requests: FakeOpnsense["requests"] = [];
  const kinds = Object.entries(modelDescription.endpoints).flatMap(([path, endpoint]) => {
    const kind = objectKind(path);
    return kind && endpoint ? [{ path, kind, endpoint }] : [];
  });
  const aliasNames = () => [...(objects.get("/api/firewall/alias/add_item")?.values() ?? [])].map((a) => a.name ?? "");

  /** The body's fields OPNsense would store, or its validation answer. */
  function accept(endpoint: EndpointDescription, body: Record<string, unknown>, base: Fields) {
    const sent = (body[endpoint.body] ?? {}) as Record<string, unknown>;
    const known = Object.fromEntries(Object.entries(sent).filter(([name]) => endpoint.fields[name]));
    const merged = { ...base, ...known };
    const problems = validateBody(
      endpoint,
      { [endpoint.body]: merged },
      { interfaces: o.interfaces, aliases: aliasNames() },
    );
    if (Object.keys(problems).length > 0) return { failed: { result: "failed", validations: problems } };
    return { fields: merged as Fields };
  }

  const defaults = (endpoint: EndpointDescription): Fields =>
    Object.fromEntries(
      Object.entries(endpoint.fields).flatMap(([name, f]) => (f.default !== undefined ? [[name, f.default]] : [])),
    );

  async function answer(method: string, path: string, req: IncomingMessage): Promise<[number, unknown]> {
    const body = method === "POST" ? await readJson(req) : {};
    if (path === "/api/firewall/filter/apply" && method === "POST") fake.onFilterApply?.();
    if (/\/(reconfigure|apply)$/.test(path) && method === "POST") return [200, { status: "ok" }];
    for (const { path: add, kind, endpoint } of kinds) {
      const store = objects.get(add) ?? new Map<string, Fields>();
      objects.set(add, store);
      if (path === kind.search) {
        const rows = [...store.entries()].map(([uuid, f]) => ({ uuid, ...f }));
        return [200, { rows, rowCount: rows.length, total: rows.length, current: 1 }];
      }
      if (path.startsWith(`${kind.get}/`)) {
        const f = store.get(path.slice(kind.get.length + 1));
        return [200, f ? { [endpoint.body]: asGet(endpoint, f) } : []];
      }
      if (method !== "POST") continue;
      if (path === add) {
        const r = accept(endpoint, body, defaults(endpoint));
        if (r.failed) return [200, r.failed];
        const uuid = randomUUID();
        store.set(uuid, r.fields);
        return [200, { result: "saved", uuid }];
      }
      if (path.startsWith(`${kind.set}/`)) {
        const uuid = path.slice(kind.set.length + 1);
        const current = store.get(uuid);
        if (!current) return [200, { result: "failed" }];
        const r = accept(endpoint, body, current);
        if (r.failed) return [200, r.failed];
        store.set(uuid, r.fields);
        return [200, { result: "saved" }];
      }
      if (path.startsWith(`${kind.del}/`)) {
        return [200, { result: store.delete(path.slice(kind.del.length + 1)) ? "deleted" : "not found" }];
      }
    }
    for (const [set, endpoint] of Object.entries(modelDescription.endpoints)) {
      const get = settingsGet(set);
      if (!get || !endpoint) continue;
      if (path === get) return [200, { [endpoint.body]: asGet(endpoint, settings.get(set) ?? defaults(endpoint)) }];
      if (path === set && method === "POST") {
        const r = accept(endpoint, body, settings.get(set) ?? defaults(endpoint));
        if (r.failed) return [200, r.failed];
        settings.set(set, r.fields);
        return [200, { result: "saved" }];
      }
    }
    return [404, { errorMessage: "Endpoint not found" }];
  }

  const handler: RequestListener = (req, res) => {
    if (fake.unreachable) {
      req.socket.destroy();
      return;
    }
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    const method = req.method ?? "GET";
    requests.push({ method, path });
    const reply = (status: number, data: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(data));
    };
    const expected = `Basic ${Buffer.from(`${key}:${secret}`).toString("base64")}`;
    if (req.headers.authorization !== expected) {
      reply(401, { status: 401, message: "Authentication Failed" });
      return;
    }
    answer(method, path, req).then(
      ([status, data]) => reply(status, data),
      (err: unknown) => reply(500, { errorMessage: String(err) }),
    );
  };
  const server: Server = o.tls ? createTlsServer(o.tls, handler) : createServer(handler);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  const fake: FakeOpnsense = {
    url: `${o.tls ? "https" : "http"}://127.0.0.1:${port}`,
    key,
    secret,
    objects,
    requests,
    close: () => new Promise((done) => server.close(() => done())),
  };
  return fake;
}
