package k8simageprovenance_test

import data.k8simageprovenance

params := {
	"registries": ["harbor.home.example/"],
	"platformNamespaces": ["monitoring"],
	"platformRegistries": ["quay.io/prometheus/"],
	"exemptImages": ["cr.l5d.io/linkerd/proxy:*"],
}

pod(namespace, images) := {"parameters": params, "review": {"object": {
	"kind": "Pod",
	"metadata": {"name": "p", "namespace": namespace},
	"spec": {"containers": [{"name": sprintf("c%d", [i]), "image": image} | some i, image in images]},
}}}

messages(review) := {v.msg | some v in k8simageprovenance.violation with input as review}

test_allows_harbor_image_with_tag if {
	count(messages(pod("shop", ["harbor.home.example/shop/web:1.4.2"]))) == 0
}

test_allows_harbor_image_with_digest if {
	count(messages(pod("shop", ["harbor.home.example/shop/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]))) == 0
}

test_allows_platform_registry_in_platform_namespace if {
	count(messages(pod("monitoring", ["quay.io/prometheus/node-exporter:v1.9.1"]))) == 0
}

test_allows_exempt_sidecar if {
	count(messages(pod("shop", ["harbor.home.example/shop/web:1", "cr.l5d.io/linkerd/proxy:edge-25.1.1"]))) == 0
}

test_denies_docker_hub_latest if {
	messages(pod("shop", ["docker.io/library/nginx:latest"])) == {
		`container "c0" (spec.containers[0]): image "docker.io/library/nginx:latest" is not from an allowed registry; use one of ["harbor.home.example/"]`,
		`container "c0" (spec.containers[0]): image "docker.io/library/nginx:latest" uses the mutable tag latest; pin a version tag or @sha256 digest`,
	}
}

test_denies_untagged_harbor_image if {
	messages(pod("shop", ["harbor.home.example/shop/web"])) == {`container "c0" (spec.containers[0]): image "harbor.home.example/shop/web" has no tag or digest; pin a version tag (e.g. :1.2.3) or @sha256 digest`}
}

test_denies_platform_registry_outside_platform_namespace if {
	messages(pod("shop", ["quay.io/prometheus/node-exporter:v1.9.1"])) == {`container "c0" (spec.containers[0]): image "quay.io/prometheus/node-exporter:v1.9.1" is not from an allowed registry; use one of ["harbor.home.example/"]`}
}

test_denies_registry_name_prefix_trick if {
	# "harbor.home.example.evil.io/" must not pass as "harbor.home.example/".
	count(messages(pod("shop", ["harbor.home.example.evil.io/web:1"]))) == 1
}

test_port_in_registry_host_is_not_a_tag if {
	review := object.union(pod("shop", ["harbor.home.example:8443/shop/web"]), {"parameters": {"registries": ["harbor.home.example:8443/"]}})
	messages(review) == {`container "c0" (spec.containers[0]): image "harbor.home.example:8443/shop/web" has no tag or digest; pin a version tag (e.g. :1.2.3) or @sha256 digest`}
}

test_allows_registry_with_port_and_tag if {
	review := object.union(pod("shop", ["harbor.home.example:8443/shop/web:2.0.1"]), {"parameters": {"registries": ["harbor.home.example:8443/"]}})
	count(messages(review)) == 0
}
