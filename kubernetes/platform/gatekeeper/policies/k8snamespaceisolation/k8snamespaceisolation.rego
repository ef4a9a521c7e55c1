# Every application namespace joins the mesh (Linkerd injects its proxy, giving mTLS between pods)
# and starts from zero trust: a default-deny NetworkPolicy (empty podSelector, no rules) for each
# required direction. NetworkPolicies are looked up in Gatekeeper's synced cluster data
# (data.inventory, filled by the Config in this folder); `gator test` fills it from the given objects.
package k8snamespaceisolation

ns := input.review.object

params := object.union(
	{"annotations": {"linkerd.io/inject": "enabled"}, "policyTypes": ["Ingress", "Egress"]},
	object.get(input, "parameters", {}),
)

violation contains {"msg": msg} if {
	ns.kind == "Namespace"
	some key, wanted in params.annotations
	object.get(ns, ["metadata", "annotations", key], "") != wanted
	msg := sprintf("namespace %q: set metadata.annotations[%q] to %q", [ns.metadata.name, key, wanted])
}

network_policies := object.get(data.inventory, ["namespace", ns.metadata.name, "networking.k8s.io/v1", "NetworkPolicy"], {})

selects_every_pod(np) if {
	count(object.get(np, ["spec", "podSelector", "matchLabels"], {})) == 0
	count(object.get(np, ["spec", "podSelector", "matchExpressions"], [])) == 0
}

# Directions this namespace denies by default: an all-pods policy naming the type with no rules for it.
denied_by_default contains policy_type if {
	some np in network_policies
	selects_every_pod(np)
	some policy_type in object.get(np, ["spec", "policyTypes"], [])
	count(object.get(np, ["spec", lower(policy_type)], [])) == 0
}

violation contains {"msg": msg} if {
	ns.kind == "Namespace"
	missing := {t | some t in params.policyTypes; not t in denied_by_default}
	count(missing) > 0
	msg := sprintf(
		"namespace %q: add a default-deny NetworkPolicy in it (spec.podSelector: {}, spec.policyTypes: %v, no rules); missing default deny for %v",
		[ns.metadata.name, params.policyTypes, sort(missing)],
	)
}
