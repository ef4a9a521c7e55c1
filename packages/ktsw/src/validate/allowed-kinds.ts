// API groups whose kinds may appear without a schema. Each needs a reason: an unknown kind is
// otherwise an error, because a typo in apiVersion or kind is exactly what schema checks catch.
export interface AllowedGroup {
  group: string;
  reason: string;
}

export const ALLOWED_WITHOUT_SCHEMA: readonly AllowedGroup[] = [
  {
    group: "tekton.dev",
    reason: "Tekton's CRDs are not in the offline CRD catalog; Tekton validates them at admission",
  },
  { group: "triggers.tekton.dev", reason: "Tekton Triggers' CRDs are not in the offline CRD catalog" },
  {
    group: "barmancloud.cnpg.io",
    reason:
      "the barman-cloud plugin's CRDs (ObjectStore) ship in its chart, not in the offline CRD catalog: when charts render, the chart's CRD checks them; without a chart cache they go unchecked",
  },
  {
    group: "litmuschaos.io",
    reason: "Litmus' CRDs are not in the offline CRD catalog; its chaos-operator validates them",
  },
];
