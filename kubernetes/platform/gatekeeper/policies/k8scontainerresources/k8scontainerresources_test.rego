package k8scontainerresources_test

import data.k8scontainerresources

full := {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}

workload(kind, pod_spec) := {"review": {"object": {
	"kind": kind,
	"metadata": {"name": "w", "namespace": "shop"},
	"spec": {"template": {"spec": pod_spec}},
}}}

messages(review) := {v.msg | some v in k8scontainerresources.violation with input as review}

test_allows_deployment_with_all_resources if {
	count(messages(workload("Deployment", {"containers": [{"name": "app", "image": "x:1", "resources": full}]}))) == 0
}

test_allows_init_container_with_resources if {
	c := {"name": "app", "image": "x:1", "resources": full}
	count(messages(workload("StatefulSet", {"initContainers": [object.union(c, {"name": "init"})], "containers": [c]}))) == 0
}

test_allows_ephemeral_container_without_resources if {
	review := {"review": {"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
		"containers": [{"name": "app", "image": "x:1", "resources": full}],
		"ephemeralContainers": [{"name": "debug", "image": "busybox:1"}],
	}}}}
	count(messages(review)) == 0
}

test_allows_exempt_image if {
	review := object.union(workload("DaemonSet", {"containers": [{"name": "proxy", "image": "cr.example/proxy:2"}]}), {"parameters": {"exemptImages": ["cr.example/proxy:*"]}})
	count(messages(review)) == 0
}

test_denies_container_without_resources if {
	msgs := messages(workload("Deployment", {"containers": [{"name": "app", "image": "x:1"}]}))
	msgs == {
		`container "app" (spec.template.spec.containers[0]): set resources.requests.cpu`,
		`container "app" (spec.template.spec.containers[0]): set resources.requests.memory`,
		`container "app" (spec.template.spec.containers[0]): set resources.limits.cpu`,
		`container "app" (spec.template.spec.containers[0]): set resources.limits.memory`,
	}
}

test_denies_missing_memory_limit if {
	c := {"name": "app", "image": "x:1", "resources": {"requests": full.requests, "limits": {"cpu": "1"}}}
	messages(workload("Job", {"containers": [c]})) == {`container "app" (spec.template.spec.containers[0]): set resources.limits.memory`}
}

test_denies_init_container_without_requests if {
	init := {"name": "migrate", "image": "x:1", "resources": {"limits": full.limits}}
	msgs := messages(workload("Deployment", {"initContainers": [init], "containers": [{"name": "app", "image": "x:1", "resources": full}]}))
	msgs == {
		`init container "migrate" (spec.template.spec.initContainers[0]): set resources.requests.cpu`,
		`init container "migrate" (spec.template.spec.initContainers[0]): set resources.requests.memory`,
	}
}
