package k8shostisolation_test

import data.k8shostisolation

workload(kind, pod_spec) := {"review": {"object": {
	"kind": kind,
	"metadata": {"name": "w", "namespace": "shop"},
	"spec": {"template": {"spec": pod_spec}},
}}}

app := [{"name": "app", "image": "x:1"}]

messages(review) := {v.msg | some v in k8shostisolation.violation with input as review}

test_allows_plain_deployment if {
	count(messages(workload("Deployment", {"containers": app}))) == 0
}

test_allows_pvc_and_empty_dir_volumes if {
	volumes := [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}, {"name": "tmp", "emptyDir": {}}]
	count(messages(workload("StatefulSet", {"containers": app, "volumes": volumes}))) == 0
}

test_allows_explicit_false_host_flags if {
	count(messages(workload("DaemonSet", {"containers": app, "hostNetwork": false, "hostPID": false, "hostIPC": false}))) == 0
}

test_denies_host_path_volume if {
	spec := {"containers": app, "volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]}
	messages(workload("Deployment", spec)) == {`spec.template.spec.volumes[0] ("docker"): hostPath "/var/run/docker.sock" is not allowed; use a PersistentVolumeClaim, ConfigMap, Secret or emptyDir`}
}

test_denies_host_network if {
	messages(workload("DaemonSet", {"containers": app, "hostNetwork": true})) == {"spec.template.spec.hostNetwork: must be false (or omitted); only exempt system namespaces may share the host's namespaces"}
}

test_denies_host_pid_and_ipc_on_pod if {
	review := {"review": {"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": app, "hostPID": true, "hostIPC": true}}}}
	messages(review) == {
		"spec.hostPID: must be false (or omitted); only exempt system namespaces may share the host's namespaces",
		"spec.hostIPC: must be false (or omitted); only exempt system namespaces may share the host's namespaces",
	}
}

test_denies_host_path_in_cronjob if {
	review := {"review": {"object": {"kind": "CronJob", "metadata": {"name": "backup"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
		"containers": app,
		"volumes": [{"name": "host", "hostPath": {"path": "/"}}],
	}}}}}}}}
	count(messages(review)) == 1
}
