import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { whyMissing } from "@ktsw/cli/tools";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateKeyPair, type KeyPair, sign, verify } from "../src/supply-chain/cosign.ts";
import { copy, digestOf, pushImage, signatureTag } from "../src/supply-chain/image.ts";
import { ratifyVerify } from "../src/supply-chain/ratify.ts";
import { type Registry, startRegistry } from "../src/supply-chain/registry.ts";

// Sign and verify, really: a CNCF distribution registry on loopback, small images built by crane from tarball
// layers (no container engine), signed by digest with the real cosign and a key pair made here, then checked two
// ways: `cosign verify` (what the pipeline and a person run) and Ratify's own verification (what the cluster's
// admission runs through Gatekeeper, kubernetes/platform/ratify). Both must accept the image signed by our key and
// refuse an unsigned image, an image signed by another key, and two tamperings: a tag moved to other content after
// signing, and a valid signature copied onto another image.

const missing = whyMissing(["registry", "crane", "cosign"]);
if (missing) console.warn(`\n!!! sign-and-verify proof SKIPPED: ${missing}\n`);
const ratifyMissing = missing ?? whyMissing(["ratify"]);
if (!missing && ratifyMissing)
  console.warn(`\n!!! sign-and-verify proof: Ratify's verification SKIPPED: ${ratifyMissing}\n`);

interface Case {
  name: string;
  /** the reference a Pod would name */
  ref: string;
  accepted: boolean;
  /** what cosign's refusal says (its error for that cause) */
  refusal?: RegExp;
}

describe.skipIf(missing)("cosign signatures on a real registry", () => {
  let registry: Registry;
  let dir: string;
  let ours: KeyPair;
  const cases: Record<string, Case> = {};
  /** the signed image's digest, which a verified payload must name */
  let signedDigest = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ktsw-sign-verify-"));
    registry = await startRegistry();
    try {
      ours = await generateKeyPair(dir, "ktsw", "proof-password");
      const theirs = await generateKeyPair(dir, "other", "other-password");
      const repo = (name: string) => `${registry.host}/ktsw/${name}`;
      const bundle = (service: string, build: string) => [
        { path: "app/service.txt", content: `${service}\n` },
        { path: "app/build.txt", content: `${build}\n` },
      ];

      // Signed by our key, by digest, as the pipeline's sign step does.
      signedDigest = await pushImage(`${repo("task-gateway")}:1.0.0`, bundle("gateway", "1"), dir);
      await sign(`${repo("task-gateway")}@${signedDigest}`, ours);
      cases.signed = { name: "signed by our key", ref: `${repo("task-gateway")}@${signedDigest}`, accepted: true };

      const unsigned = await pushImage(`${repo("task-worker")}:1.0.0`, bundle("worker", "1"), dir);
      cases.unsigned = {
        name: "unsigned",
        ref: `${repo("task-worker")}@${unsigned}`,
        accepted: false,
        refusal: /no signatures found/,
      };

      const foreign = await pushImage(`${repo("task-status")}:1.0.0`, bundle("status", "1"), dir);
      await sign(`${repo("task-status")}@${foreign}`, theirs);
      cases.otherKey = {
        name: "signed by another key",
        ref: `${repo("task-status")}@${foreign}`,
        accepted: false,
        refusal: /no matching signatures/,
      };

      // Tampering 1: the tag a Pod names is moved to other content after the signed content was pushed.
      const moved = repo("task-moved");
      const before = await pushImage(`${moved}:1.0.0`, bundle("moved", "signed"), dir);
      await sign(`${moved}@${before}`, ours);
      const after = await pushImage(`${moved}:1.0.0`, bundle("moved", "swapped"), dir);
      expect(after).not.toBe(before);
      expect(await digestOf(`${moved}:1.0.0`)).toBe(after);
      cases.tagMoved = {
        name: "tag moved to other content after signing",
        ref: `${moved}:1.0.0`,
        accepted: false,
        refusal: /no signatures found/,
      };

      // Tampering 2: our valid signature (of the gateway's digest) copied to where another image's signature goes.
      const forged = repo("task-forged");
      const victim = await pushImage(`${forged}:1.0.0`, bundle("forged", "1"), dir);
      await copy(signatureTag(repo("task-gateway"), signedDigest), signatureTag(forged, victim));
      cases.copiedSignature = {
        name: "signature of another digest copied onto the image",
        ref: `${forged}@${victim}`,
        accepted: false,
        refusal: /no matching signatures/,
      };
    } catch (err) {
      await registry.stop();
      throw err;
    }
  });

  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const names = ["signed", "unsigned", "otherKey", "tagMoved", "copiedSignature"] as const;

  test.each(names)("cosign verify: %s", async (key) => {
    const c = cases[key] as Case;
    const res = await verify(c.ref, ours.pub);
    if (c.accepted) {
      expect(res.code, `${c.name}: ${res.stderr}`).toBe(0);
      // The verified payload names the digest that was signed (cosign's claim check), and only that one.
      const payloads = JSON.parse(res.stdout) as { critical: { image: { "docker-manifest-digest": string } } }[];
      expect(payloads.map((p) => p.critical.image["docker-manifest-digest"])).toEqual([signedDigest]);
    } else {
      expect(res.code, `${c.name} was accepted: ${res.stdout}`).not.toBe(0);
      expect(res.stderr).toMatch(c.refusal as RegExp);
    }
  });

  describe.skipIf(ratifyMissing)("Ratify, as the admission check runs it", () => {
    const ratify = async (key: (typeof names)[number], mode: "key" | "trustPolicies") => {
      const c = cases[key] as Case;
      const work = await mkdtemp(join(dir, `ratify-${mode}-${key}-`));
      // The trust policy's scope as the chart's cosign.scopes would say it: the project the pipeline pushes to.
      const scopes = [`${registry.host}/ktsw/*`];
      return { c, answer: await ratifyVerify(c.ref, ours.pub, work, { mode, scopes, useHttp: true }) };
    };

    // The configuration the tree deploys (platform/ratify: the chart's cosign.key).
    test.each(names)("ratify verify (one key, as deployed): %s", async (key) => {
      const { c, answer } = await ratify(key, "key");
      expect(answer.isSuccess, `${c.name}: ${answer.raw}`).toBe(c.accepted);
    });

    // Why not the chart's newer cosignKeys/trust policies: Ratify v1.4.0 checks no claim there, so our signature of
    // another digest, copied onto this image, passes. If this starts failing, Ratify checks claims there too and
    // the tree may move to trust policies (kubernetes/platform/ratify/README.md).
    test("ratify verify (trust policies): accepts a copied signature, the gap the tree avoids", async () => {
      const { answer } = await ratify("copiedSignature", "trustPolicies");
      expect(answer.isSuccess, answer.raw).toBe(true);
    });

    test.each(["signed", "unsigned", "otherKey", "tagMoved"] as const)(
      "ratify verify (trust policies) agrees on everything else: %s",
      async (key) => {
        const { c, answer } = await ratify(key, "trustPolicies");
        expect(answer.isSuccess, `${c.name}: ${answer.raw}`).toBe(c.accepted);
      },
    );
  });
});
