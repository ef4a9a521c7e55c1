package k8srequiredprobes_test

import data.k8srequiredprobes

probe := {"httpGet": {"path": "/healthz", "port": 8080}}

workload(kind, containers) := {"review": {"object": {
	"kind": kind,
	"metadata": {"name": "w", "namespace": "shop"},
	"spec": {"template": {"spec": {"containers": containers}}},
}}}

messages(review) := {v.msg | some v in k8srequiredprobes.violation with input as review}

test_allows_deployment_with_both_probes if {
	count(messages(workload("Deployment", [{"name": "app", "readinessProbe": probe, "livenessProbe": probe}]))) == 0
}

test_allows_statefulset_with_tcp_probes if {
	tcp := {"tcpSocket": {"port": 5432}}
	count(messages(workload("StatefulSet", [{"name": "db", "readinessProbe": tcp, "livenessProbe": tcp}]))) == 0
}

test_allows_init_container_without_probes if {
	review := {"review": {"object": {"kind": "Deployment", "metadata": {"name": "w"}, "spec": {"template": {"spec": {
		"initContainers": [{"name": "migrate"}],
		"containers": [{"name": "app", "readinessProbe": probe, "livenessProbe": probe}],
	}}}}}}
	count(messages(review)) == 0
}

test_allows_custom_probe_list if {
	review := object.union(workload("Deployment", [{"name": "app", "readinessProbe": probe}]), {"parameters": {"probes": ["readinessProbe"]}})
	count(messages(review)) == 0
}

test_denies_deployment_without_probes if {
	messages(workload("Deployment", [{"name": "app"}])) == {
		`container "app" (spec.template.spec.containers[0]): add a readinessProbe (httpGet, tcpSocket, grpc or exec)`,
		`container "app" (spec.template.spec.containers[0]): add a livenessProbe (httpGet, tcpSocket, grpc or exec)`,
	}
}

test_denies_missing_liveness_probe if {
	messages(workload("StatefulSet", [{"name": "db", "readinessProbe": probe}])) == {`container "db" (spec.template.spec.containers[0]): add a livenessProbe (httpGet, tcpSocket, grpc or exec)`}
}

test_denies_second_container_without_readiness if {
	ok := {"name": "app", "readinessProbe": probe, "livenessProbe": probe}
	messages(workload("Deployment", [ok, {"name": "worker", "livenessProbe": probe}])) == {`container "worker" (spec.template.spec.containers[1]): add a readinessProbe (httpGet, tcpSocket, grpc or exec)`}
}
