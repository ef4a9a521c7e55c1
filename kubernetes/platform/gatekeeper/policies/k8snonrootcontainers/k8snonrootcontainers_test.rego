package k8snonrootcontainers_test

import data.k8snonrootcontainers

hardened := {
	"runAsNonRoot": true,
	"runAsUser": 65532,
	"allowPrivilegeEscalation": false,
	"capabilities": {"drop": ["ALL"]},
}

deployment(pod_spec) := {"review": {"object": {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": {"template": {"spec": pod_spec}},
}}}

pod(pod_spec) := {"review": {"object": {
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": pod_spec,
}}}

messages(review) := {v.msg | some v in k8snonrootcontainers.violation with input as review}

test_allows_hardened_deployment if {
	count(messages(deployment({"containers": [{"name": "app", "image": "x:1", "securityContext": hardened}]}))) == 0
}

test_allows_pod_level_run_as_non_root if {
	c := {"name": "app", "image": "x:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}
	count(messages(pod({"securityContext": {"runAsNonRoot": true, "runAsUser": 1000}, "containers": [c]}))) == 0
}

test_allows_exempt_image if {
	review := object.union(pod({"containers": [{"name": "proxy", "image": "cr.example/proxy:2"}]}), {"parameters": {"exemptImages": ["cr.example/*"]}})
	count(messages(review)) == 0
}

test_allows_hardened_cronjob if {
	review := {"review": {"object": {"kind": "CronJob", "metadata": {"name": "j"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "x:1", "securityContext": hardened}]}}}}}}}}
	count(messages(review)) == 0
}

test_denies_container_without_security_context if {
	msgs := messages(deployment({"containers": [{"name": "app", "image": "x:1"}]}))
	msgs == {
		`container "app" (spec.template.spec.containers[0]): set securityContext.runAsNonRoot: true (on the container or the pod)`,
		`container "app" (spec.template.spec.containers[0]): set securityContext.allowPrivilegeEscalation: false`,
		`container "app" (spec.template.spec.containers[0]): set securityContext.capabilities.drop: ["ALL"]`,
	}
}

test_denies_root_uid_even_with_pod_run_as_non_root if {
	c := object.union({"name": "app", "image": "x:1"}, {"securityContext": object.union(hardened, {"runAsUser": 0})})
	msgs := messages(pod({"securityContext": {"runAsNonRoot": true}, "containers": [c]}))
	msgs == {`container "app" (spec.containers[0]): securityContext.runAsUser is 0 (root); set a non-zero UID such as 65532`}
}

test_denies_privileged_init_container if {
	init := {"name": "setup", "image": "x:1", "securityContext": object.union(hardened, {"privileged": true})}
	msgs := messages(deployment({"initContainers": [init], "containers": [{"name": "app", "image": "x:1", "securityContext": hardened}]}))
	msgs == {`init container "setup" (spec.template.spec.initContainers[0]): set securityContext.privileged: false`}
}

test_denies_container_overriding_pod_non_root if {
	c := object.union({"name": "app", "image": "x:1"}, {"securityContext": object.union(hardened, {"runAsNonRoot": false})})
	msgs := messages(pod({"securityContext": {"runAsNonRoot": true}, "containers": [c]}))
	msgs == {`container "app" (spec.containers[0]): set securityContext.runAsNonRoot: true (on the container or the pod)`}
}

test_denies_ephemeral_container_keeping_capabilities if {
	debug := {"name": "debug", "image": "x:1", "securityContext": object.union(hardened, {"capabilities": {"drop": ["NET_RAW"]}})}
	msgs := messages(pod({"containers": [{"name": "app", "image": "x:1", "securityContext": hardened}], "ephemeralContainers": [debug]}))
	msgs == {`ephemeral container "debug" (spec.ephemeralContainers[0]): set securityContext.capabilities.drop: ["ALL"]`}
}
