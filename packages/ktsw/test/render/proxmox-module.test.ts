// The hand-written OpenTofu module against the tfvars `ktsw render` writes for it. HashiCorp's own
// HCL parser (compiled to WebAssembly, @cdktf/hcl2json) reads every .tf file; the checks then tie
// each reference in the module to a declared variable and each rendered value to its declaration,
// which is what `tofu validate` would catch for variables. `tofu validate` itself runs when tofu is
// installed (it cannot be built here: see the module README).
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { renderAll } from "../../src/render/index.ts";
import { k3sAgentTokenPlaceholder, k3sTokenPlaceholder } from "../../src/render/nodes/token.ts";
import { proxmoxDir, proxmoxTfvars, tfvarsPath } from "../../src/render/proxmox/tfvars.ts";
import { findTool } from "../../src/tools/find.ts";
import { allValidConfigs, exampleConfig, repoRoot } from "./support.ts";

type Block = Record<string, unknown>;
interface Module {
  variable: Record<string, [Block]>;
  resource: Record<string, Record<string, [Block]>>;
  locals: Block[];
  terraform: Block[];
  provider: Record<string, [Block]>;
  check: Record<string, [Block]>;
}

const moduleDir = join(repoRoot, proxmoxDir);
const tfFiles = readdirSync(moduleDir).filter((f) => f.endsWith(".tf"));
let mod: Module;
let expressions: string;

beforeAll(async () => {
  const parts = await Promise.all(tfFiles.map((f) => parseHcl(f, readFileSync(join(moduleDir, f), "utf8"))));
  mod = { variable: {}, resource: {}, locals: [], terraform: [], provider: {}, check: {} };
  for (const p of parts) {
    Object.assign(mod.variable, p.variable);
    Object.assign(mod.resource, p.resource);
    Object.assign(mod.provider, p.provider);
    Object.assign(mod.check, p.check);
    mod.locals.push(...((p.locals as Block[]) ?? []));
    mod.terraform.push(...((p.terraform as Block[]) ?? []));
  }
  // Every expression in the module as one text; comments are not in it (the parser drops them).
  expressions = JSON.stringify(parts);
});

/** Attribute names of an object type expression such as "${object({ a = string, b = number })}". */
function objectAttributes(variable: string): string[] {
  const type = String(mod.variable[variable]?.[0]?.type ?? "");
  return [...type.matchAll(/(\w+)\s*=/g)].map((m) => m[1] as string).sort();
}

const references = (pattern: RegExp) => [
  ...new Set([...expressions.matchAll(pattern)].map((m) => m.slice(1).join("."))),
];

describe("OpenTofu module (parsed with HashiCorp's HCL parser)", () => {
  test("the module has the four files and they all parse; a syntax error would not", async () => {
    expect(tfFiles.sort()).toEqual(["main.tf", "outputs.tf", "variables.tf", "versions.tf"]);
    await expect(parseHcl("broken.tf", 'resource "a" "b" {\n  x = \n}\n')).rejects.toThrow(/Invalid expression/);
  });

  test("every var.X the module uses is declared, and every declared variable is used", () => {
    const used = references(/\bvar\.(\w+)/g);
    const declared = Object.keys(mod.variable);
    expect(used.filter((v) => !declared.includes(v))).toEqual([]);
    expect(declared.filter((v) => !used.includes(v))).toEqual([]);
  });

  test("attribute accesses (var.X.attr, each.value.attr) name attributes the variable's type has", () => {
    for (const [variable, attr] of references(/\bvar\.(\w+)\.(\w+)/g).map((r) => r.split("."))) {
      expect(objectAttributes(variable as string), `var.${variable}.${attr}`).toContain(attr);
    }
    // Every for_each in the module iterates var.nodes, so each.value is one node object.
    const forEachs = Object.values(mod.resource).flatMap((byName) => Object.values(byName).map((b) => b[0].for_each));
    expect(new Set(forEachs)).toEqual(new Set(["${var.nodes}"]));
    const eachAttrs = references(/\beach\.value\.(\w+)/g);
    expect(eachAttrs.length).toBeGreaterThan(0);
    for (const attr of eachAttrs) expect(objectAttributes("nodes"), `each.value.${attr}`).toContain(attr);
  });

  test("the rendered tfvars match the declarations, and secrets are never in them", async () => {
    for (const [name, c] of await allValidConfigs()) {
      const tfvars = proxmoxTfvars(c);
      const declared = mod.variable;
      const secrets = Object.keys(declared).filter((v) => declared[v]?.[0]?.sensitive === true);
      expect(secrets.sort()).toEqual(["k3s_agent_token", "k3s_token", "state_passphrase"]);
      const required = Object.keys(declared).filter(
        (v) => !(secrets.includes(v) || "default" in (declared[v]?.[0] ?? {})),
      );
      expect(Object.keys(tfvars).sort(), name).toEqual(required.sort());
      for (const [key, value] of Object.entries(tfvars)) {
        if (key === "nodes") {
          for (const node of Object.values(value as Record<string, object>)) {
            expect(Object.keys(node).sort(), `${name} nodes`).toEqual(objectAttributes("nodes"));
          }
        } else if (String(declared[key]?.[0]?.type).includes("object(")) {
          expect(Object.keys(value as object).sort(), `${name} ${key}`).toEqual(objectAttributes(key));
        }
      }
      expect(JSON.stringify(tfvars)).not.toMatch(/token|secret|password|passphrase/i);
    }
  });

  test("each node's snippet is read from a user-data file `ktsw render` writes", async () => {
    const c = await exampleConfig();
    const files = renderAll(c);
    const data = mod.resource.proxmox_virtual_environment_file?.user_data?.[0]?.source_raw as [Block];
    expect(String(data[0].data)).toContain('file("${path.module}/../nodes/${each.key}/user-data.yaml")');
    for (const node of Object.keys(proxmoxTfvars(c).nodes as object)) {
      expect(files[`infrastructure/nodes/${node}/user-data.yaml`], node).toContain(k3sAgentTokenPlaceholder);
    }
    expect(mod.locals[0]?.k3s_token_placeholder).toBe(k3sTokenPlaceholder);
    expect(mod.locals[0]?.k3s_agent_token_placeholder).toBe(k3sAgentTokenPlaceholder);
    // Both placeholders are replaced, each by its own variable, and the two may not be equal.
    const uploaded = String(data[0].data);
    expect(uploaded).toMatch(/local\.k3s_token_placeholder,\s*var\.k3s_token\b/);
    expect(uploaded).toMatch(/local\.k3s_agent_token_placeholder,\s*var\.k3s_agent_token\b/);
    const snippet = mod.resource.proxmox_virtual_environment_file?.user_data?.[0] ?? {};
    const lifecycle = (snippet.lifecycle as [Block])[0];
    expect((lifecycle.precondition as [Block])[0].condition).toBe("${var.k3s_agent_token != var.k3s_token}");
    expect(files[tfvarsPath]).toBe(`${JSON.stringify(proxmoxTfvars(c), null, 2)}\n`);
  });

  test("Proxmox TLS is verified unless ktsw.yaml says insecure, and then every plan warns", async () => {
    const c = structuredClone(await exampleConfig());
    expect(c.proxmox.tls).toBe("verify");
    expect(proxmoxTfvars(c).proxmox_insecure).toBe(false);
    c.proxmox.tls = "insecure";
    expect(proxmoxTfvars(c).proxmox_insecure).toBe(true);
    expect(mod.provider.proxmox?.[0].insecure).toBe("${var.proxmox_insecure}");
    expect(mod.variable.proxmox_insecure?.[0]).toMatchObject({ type: "${bool}" });
    expect(mod.variable.proxmox_insecure?.[0]).not.toHaveProperty("default");
    // A check block's failed assertion is a warning on plan and apply (an error would stop the run).
    const check = mod.check.proxmox_tls?.[0] ?? {};
    const assertion = (check.assert as [Block])[0];
    expect(assertion.condition).toBe("${!var.proxmox_insecure}");
    expect(String(assertion.error_message)).toMatch(/TLS verification of the Proxmox API is OFF/);
  });

  test("the provider is pinned to one exact release and the state is encrypted", () => {
    const terraform = mod.terraform[0] as Block;
    const proxmox = (terraform.required_providers as [Record<string, Block>])[0].proxmox as Block;
    expect(proxmox.source).toBe("bpg/proxmox");
    expect(proxmox.version).toMatch(/^\d+\.\d+\.\d+$/);
    const encryption = (terraform.encryption as [Block])[0];
    expect((encryption.state as [Block])[0].enforced).toBe(true);
    expect((encryption.plan as [Block])[0].enforced).toBe(true);
  });
});

const tofu = findTool("tofu");
if (!tofu) {
  console.warn(
    "⚠ tofu not installed: skipping `tofu validate` and the offline `tofu plan` of infrastructure/proxmox (OpenTofu cannot be `go install`ed — its go.mod has replace directives — and bpg/proxmox is not served by the Go module proxy; see infrastructure/proxmox/README.md)",
  );
}

interface PlannedResource {
  address: string;
  values: unknown;
}
/** The parts of the planned values these tests read (attribute names from the provider's schema). */
interface PlannedVm {
  name: string;
  vm_id: number;
  node_name: string;
  started: boolean;
  clone: [{ vm_id: number; node_name: string }];
  cpu: [{ cores: number }];
  memory: [{ dedicated: number }];
  disk: [{ size: number; datastore_id: string }];
  network_device: { vlan_id: number }[];
  initialization: [{ ip_config: { ipv4: [{ address: string; gateway: string | null }] }[] }];
}
interface PlannedSnippet {
  node_name: string;
  source_raw: [{ data: string }];
}

describe.skipIf(!tofu)("tofu (validate, and a plan that never reaches Proxmox)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ktsw-tofu-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The provider comes from the registry, or — offline — from a folder laid out as a filesystem
  // mirror (<dir>/registry.opentofu.org/bpg/proxmox/<version>/linux_amd64/terraform-provider-proxmox_v<version>)
  // named by KTSW_TOFU_PROVIDER_MIRROR; the CLI config pointing at it is written here, never committed.
  const mirror = process.env.KTSW_TOFU_PROVIDER_MIRROR;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_IN_AUTOMATION: "1",
    TF_VAR_state_passphrase: "test-only-state-passphrase",
    TF_VAR_k3s_token: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    TF_VAR_k3s_agent_token: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
    // A syntactically valid token for an endpoint that does not exist: planning must not need the API.
    PROXMOX_VE_API_TOKEN: "test@pve!ktsw=00000000-0000-0000-0000-000000000000",
    PROXMOX_VE_SSH_USERNAME: "root",
  };
  if (mirror) {
    const cliConfig = join(dir, "tofu.rc");
    writeFileSync(
      cliConfig,
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.opentofu.org/bpg/proxmox"]\n  }\n}\n`,
    );
    env.TF_CLI_CONFIG_FILE = cliConfig;
  }
  const workdir = join(dir, proxmoxDir);
  const run = (args: string[]) =>
    spawnSync(tofu as string, [...args, "-no-color"], { cwd: workdir, env, encoding: "utf8" });

  beforeAll(async () => {
    cpSync(moduleDir, workdir, { recursive: true, filter: (src) => !src.includes(".terraform") });
    for (const [path, content] of Object.entries(renderAll(await exampleConfig()))) {
      if (!path.startsWith("infrastructure/")) continue;
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  });

  test("the module is formatted, initialises and validates against the pinned provider's schema", () => {
    const fmt = run(["fmt", "-check", "-diff"]);
    expect(fmt.status, `tofu fmt would change the module:\n${fmt.stdout}`).toBe(0);
    const init = run(["init", "-backend=false", "-input=false"]);
    expect(init.status, init.stderr).toBe(0);
    const validate = run(["validate"]);
    expect(validate.status, validate.stderr).toBe(0);
  });

  test("a plan from the rendered tfvars creates one VM and one snippet per node, as ktsw.yaml says", async () => {
    const c = await exampleConfig();
    const plan = run([
      "plan",
      "-refresh=false",
      "-input=false",
      "-lock=false",
      "-var=proxmox_endpoint=https://127.0.0.1:1/",
      "-out=ktsw.tfplan",
    ]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`Plan: ${2 * c.nodes.length} to add, 0 to change, 0 to destroy.`);
    // The snippet data is shown as sensitive.
    expect(plan.stdout).not.toContain(env.TF_VAR_k3s_token);
    expect(plan.stdout).not.toContain(env.TF_VAR_k3s_agent_token);
    const show = run(["show", "-json", "ktsw.tfplan"]);
    expect(show.status, show.stderr).toBe(0);
    const resources = JSON.parse(show.stdout).planned_values.root_module.resources as PlannedResource[];
    const at = <T>(address: string) => resources.find((r) => r.address === address)?.values as T;
    const { vlans } = c.network;
    const prefix = (cidr: string) => cidr.split("/")[1];
    for (const n of c.nodes) {
      const vm = at<PlannedVm>(`proxmox_virtual_environment_vm.node["${n.name}"]`);
      expect(vm, n.name).toMatchObject({ name: n.name, vm_id: n.vmid, node_name: n.host, started: true });
      expect(vm.clone[0]).toMatchObject({ vm_id: c.proxmox.template.vmid, node_name: c.proxmox.template.node });
      expect(vm.cpu[0].cores).toBe(n.cores);
      expect(vm.memory[0].dedicated).toBe(n.memory);
      expect(vm.disk[0]).toMatchObject({ size: n.disk, datastore_id: c.proxmox.storage.vmDisks });
      expect(vm.network_device.map((d) => d.vlan_id)).toEqual([vlans.nodes.id, vlans.storage.id]);
      const ip = vm.initialization[0].ip_config.map(
        (cfg: { ipv4: [{ address: string; gateway: string | null }] }) => cfg.ipv4[0],
      );
      expect(ip[0]).toEqual({
        address: `${n.addresses.nodes}/${prefix(vlans.nodes.cidr)}`,
        gateway: vlans.nodes.gateway,
      });
      expect(ip[1]).toEqual({ address: `${n.addresses.storage}/${prefix(vlans.storage.cidr)}`, gateway: null });
      const snippet = at<PlannedSnippet>(`proxmox_virtual_environment_file.user_data["${n.name}"]`);
      expect(snippet.node_name).toBe(n.host);
      const data = snippet.source_raw[0].data as string;
      expect(data).not.toContain(k3sTokenPlaceholder);
      expect(data).not.toContain(k3sAgentTokenPlaceholder);
      expect(data).toContain(`content: |\n      ${env.TF_VAR_k3s_agent_token}\n`);
      if (n.role === "control-plane") expect(data).toContain(`content: |\n      ${env.TF_VAR_k3s_token}\n`);
      else expect(data).not.toContain(env.TF_VAR_k3s_token);
    }
  });
});
