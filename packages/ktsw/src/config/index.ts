export * as ipv4 from "./ipv4.ts";
export { type LoadResult, loadConfig, parseConfig } from "./load.ts";
export { configJsonSchema, configSchema, type KtswConfig, type KtswNode, nodeRoles, vlanRoles } from "./schema.ts";
export { isPrivateAsn, minimumMemoryMiB } from "./semantics.ts";
