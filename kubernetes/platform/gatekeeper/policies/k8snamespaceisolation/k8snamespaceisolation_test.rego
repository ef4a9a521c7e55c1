package k8snamespaceisolation_test

import data.k8snamespaceisolation

meshed := {"linkerd.io/inject": "enabled"}

namespace(name, annotations) := {"review": {"object": {
	"apiVersion": "v1",
	"kind": "Namespace",
	"metadata": {"name": name, "annotations": annotations},
}}}

policy(spec) := object.union({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"}, {"spec": spec})

deny_all := policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})

inventory(name, policies) := {"namespace": {name: {"networking.k8s.io/v1": {"NetworkPolicy": policies}}}}

messages(review, inv) := {v.msg | some v in k8snamespaceisolation.violation with input as review with data.inventory as inv}

test_allows_meshed_namespace_with_default_deny if {
	count(messages(namespace("shop", meshed), inventory("shop", {"default-deny": deny_all}))) == 0
}

test_allows_default_deny_split_in_two_policies if {
	policies := {
		"deny-ingress": policy({"podSelector": {}, "policyTypes": ["Ingress"]}),
		"deny-egress": policy({"podSelector": {}, "policyTypes": ["Egress"]}),
	}
	count(messages(namespace("shop", meshed), inventory("shop", policies))) == 0
}

test_allows_extra_allow_policies_next_to_default_deny if {
	allow := policy({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]})
	count(messages(namespace("shop", meshed), inventory("shop", {"default-deny": deny_all, "allow-web": allow}))) == 0
}

test_denies_namespace_without_mesh_annotation if {
	messages(namespace("shop", {}), inventory("shop", {"default-deny": deny_all})) == {`namespace "shop": set metadata.annotations["linkerd.io/inject"] to "enabled"`}
}

test_denies_namespace_without_network_policy if {
	messages(namespace("shop", meshed), {}) == {`namespace "shop": add a default-deny NetworkPolicy in it (spec.podSelector: {}, spec.policyTypes: ["Ingress", "Egress"], no rules); missing default deny for ["Egress", "Ingress"]`}
}

test_denies_policy_that_only_selects_some_pods if {
	partial := policy({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"]})
	count(messages(namespace("shop", meshed), inventory("shop", {"web-only": partial}))) == 1
}

test_denies_ingress_only_default_deny if {
	ingress_only := policy({"podSelector": {}, "policyTypes": ["Ingress"]})
	messages(namespace("shop", meshed), inventory("shop", {"deny-ingress": ingress_only})) == {`namespace "shop": add a default-deny NetworkPolicy in it (spec.podSelector: {}, spec.policyTypes: ["Ingress", "Egress"], no rules); missing default deny for ["Egress"]`}
}

test_denies_policy_in_another_namespace if {
	count(messages(namespace("shop", meshed), inventory("blog", {"default-deny": deny_all}))) == 1
}
