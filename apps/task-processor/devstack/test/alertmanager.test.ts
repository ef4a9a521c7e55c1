import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run } from "@ktsw/cli/run";
import { sopsDecrypt } from "@ktsw/cli/sops";
import { requireTool, whyMissing } from "@ktsw/cli/tools";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import {
  type Alertmanager,
  type AmConfig,
  parseAmConfig,
  receiversAt,
  SECRETS_DIR,
  scaleRouteTimings,
  secretUrlFiles,
  startAlertmanager,
  startWebhookSink,
  treeVmAlertmanager,
  type WebhookSink,
} from "../src/observability/alertmanager.ts";
import { treeRoot } from "../src/observability/tree.ts";

// The tree's Alertmanager config on the real Alertmanager and amtool (deps/go-tools.txt, the release the tree's
// VMAlertmanager runs): amtool accepts the config as Flux applies it and routes alerts as the README says, the
// site's Secret holds a URL for every file the config reads, and a critical alert mutes the warning of the same
// alert and namespace. The delivery of a real alert from vmalert is in observability.test.ts.

const missing = whyMissing(["alertmanager", "amtool", "sops"]);
if (missing) console.warn(`\n!!! Alertmanager proof SKIPPED: ${missing}\n`);

const repo = resolve(treeRoot, "..");
const exampleKey = join(repo, "test-support", "example-age.key");
const RECEIVER_SECRET = "kubernetes/observability/alertmanager/app/receiver.sops.yaml";
/** As for the rules (observability.test.ts): a minute of the config's timings passes in a second. */
const TIME_SCALE = 1 / 60;

describe.skipIf(missing)("the tree's Alertmanager config on the real Alertmanager", () => {
  let dir: string;
  let configFile: string;
  let config: AmConfig;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ktsw-alertmanager-"));
    const { spec } = treeVmAlertmanager();
    configFile = join(dir, "alertmanager.yaml");
    // The text as written: what the operator hands Alertmanager when no VMAlertmanagerConfig is selected.
    writeFileSync(configFile, spec.configRawYaml);
    config = parseAmConfig(spec.configRawYaml);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const amtool = (...args: string[]) => run(requireTool("amtool"), args);

  test("amtool check-config accepts the VMAlertmanager's config as Flux applies it", async () => {
    const r = await amtool("check-config", configFile);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("SUCCESS");
    console.log(`alertmanager: amtool check-config: ${r.stdout.trim().split("\n").slice(1).join(" ")}`);
  });

  test("the Watchdog goes to the heartbeat, critical and warning alerts to the site, critical repeating sooner", async () => {
    const receiverOf = async (...labels: string[]) => {
      const r = await amtool("config", "routes", "test", `--config.file=${configFile}`, ...labels);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    expect(await receiverOf("alertname=Watchdog", "severity=none")).toBe("heartbeat");
    expect(await receiverOf("alertname=BGPSessionDown", "severity=critical", "namespace=metallb-system")).toBe("site");
    expect(await receiverOf("alertname=TaskJobsDeadLettered", "severity=warning", "namespace=task-processor")).toBe(
      "site",
    );
    // Unlabelled severity still reaches someone.
    expect(await receiverOf("alertname=Anything")).toBe("site");
    expect(config.route.group_by).toEqual(["alertname", "namespace"]);
    const repeat = (severity: string) =>
      config.route.routes?.find((r) => r.matchers?.includes(`severity = "${severity}"`))?.repeat_interval;
    expect([repeat("critical"), repeat("warning")]).toEqual(["1h", "12h"]);
  });

  test("the site's Secret decrypts (example key) to a URL for every file the config reads, and the CR mounts it", async () => {
    const { spec } = treeVmAlertmanager();
    const files = secretUrlFiles(config);
    expect(files.map((f) => f.receiver).sort()).toEqual(["heartbeat", "site"]);
    const r = await sopsDecrypt(repo, join(repo, RECEIVER_SECRET), exampleKey);
    expect(r.code, r.stderr).toBe(0);
    const secret = parse(r.stdout) as { metadata: { name: string }; stringData: Record<string, string> };
    for (const f of files) {
      expect(f.secret).toBe(secret.metadata.name);
      expect(spec.secrets).toContain(f.secret);
      expect(new URL(secret.stringData[f.key] ?? "").protocol, `${f.secret}/${f.key}`).toBe("https:");
    }
  });

  describe("running", () => {
    let am: Alertmanager;
    let sink: WebhookSink;
    beforeAll(async () => {
      sink = await startWebhookSink();
      // The test's webhook in place of the site's receivers.
      am = await startAlertmanager(scaleRouteTimings(config, TIME_SCALE), receiversAt(config, sink.url));
    }, 30_000);
    afterAll(async () => {
      await am?.stop();
      await sink?.stop();
    });

    test("is healthy: its API reports the config it loaded, clustering off as with one replica", async () => {
      const status = await am.status();
      expect(status.cluster.status).toBe("disabled");
      expect(status.config.original).toContain("inhibit_rules");
      // Its receivers read the test's files, not the pod's mount.
      expect(status.config.original).not.toContain(SECRETS_DIR);
    });

    test("a critical alert mutes the warning of the same alert and namespace: only the critical is delivered", async () => {
      const labels = { alertname: "InhibitProof", namespace: "task-processor" };
      await am.post([
        { labels: { ...labels, severity: "critical" }, annotations: { runbook: "critical runbook" } },
        { labels: { ...labels, severity: "warning" }, annotations: { runbook: "warning runbook" } },
        // Not muted (another alert name): once it is delivered, the warning above, posted first on the same
        // route, would have been too.
        { labels: { alertname: "InhibitMarker", namespace: "task-processor", severity: "warning" } },
      ]);
      const delivered = (name: string) =>
        sink.received.filter((m) => m.path === "/site" && m.message.groupLabels.alertname === name);
      await expect.poll(() => delivered("InhibitMarker").length, { timeout: 30_000, interval: 200 }).toBe(1);
      await expect.poll(() => delivered("InhibitProof").length, { timeout: 30_000, interval: 200 }).toBe(1);
      const [proof] = delivered("InhibitProof");
      expect(proof?.message.alerts.map((a) => a.labels.severity)).toEqual(["critical"]);
      expect(proof?.message.groupLabels).toEqual(labels);
      // Alertmanager's own view: the warning is held, inhibited by the critical.
      const alerts = (await (await fetch(`${am.url}/api/v2/alerts?filter=alertname="InhibitProof"`)).json()) as {
        labels: Record<string, string>;
        status: { state: string; inhibitedBy: string[] };
      }[];
      const warning = alerts.find((a) => a.labels.severity === "warning");
      expect(warning?.status.state).toBe("suppressed");
      expect(warning?.status.inhibitedBy.length).toBe(1);
    }, 60_000);
  });
});
