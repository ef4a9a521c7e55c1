// Every rendered artifact, as one pure function: config in, { repo-relative path: content } out.
// Renderers never touch the disk; `write.ts` does, and `--check` compares instead of writing.
import type { KtswConfig } from "../config/schema.ts";
import { renderClusterSettings } from "./cluster-settings.ts";
import { renderConfigSchema } from "./config-schema.ts";
import { renderNodes } from "./nodes/index.ts";
import { renderProxmox } from "./proxmox/tfvars.ts";
import { renderRouter } from "./router/index.ts";

export type FileMap = Record<string, string>;
export type Renderer = (config: KtswConfig) => FileMap;

/** Add a renderer here to make `ktsw render` produce (and `render --check` guard) its files. */
export const renderers: Record<string, Renderer> = {
  "config-schema": renderConfigSchema,
  "cluster-settings": renderClusterSettings,
  router: renderRouter,
  nodes: renderNodes,
  proxmox: renderProxmox,
};

export function renderAll(config: KtswConfig): FileMap {
  const files: FileMap = {};
  for (const [name, render] of Object.entries(renderers)) {
    for (const [path, content] of Object.entries(render(config))) {
      if (path in files) throw new Error(`renderer ${name} writes ${path}, which another renderer already writes`);
      files[path] = content;
    }
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
}
