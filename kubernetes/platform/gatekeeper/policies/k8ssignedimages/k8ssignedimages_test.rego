package k8ssignedimages_test

import data.k8ssignedimages

params := {"registries": ["harbor.home.example/ktsw/"], "provider": "ratify-provider", "exemptImages": [], "report": ["refused", "unanswered"]}

signed := "harbor.home.example/ktsw/task-gateway@sha256:1111111111111111111111111111111111111111111111111111111111111111"

unsigned := "harbor.home.example/ktsw/task-worker@sha256:2222222222222222222222222222222222222222222222222222222222222222"

deployment(images) := {"parameters": params, "review": {"object": {
	"kind": "Deployment",
	"metadata": {"name": "d", "namespace": "task-processor"},
	"spec": {"template": {"spec": {
		"initContainers": [{"name": "migrate", "image": images[0]}],
		"containers": [{"name": sprintf("c%d", [i]), "image": image} | some i, image in images],
	}}},
}}}

# What Ratify answers: every image it was asked about, successful only for `signed`.
ratify(request) := {
	"responses": [[key, {"isSuccess": key == signed}] | some key in request.keys],
	"errors": [],
	"status_code": 200,
	"system_error": "",
}

# Ratify unreachable (no pod, or slower than the provider timeout): Gatekeeper's answer carries a system error.
ratify_down(_) := {"responses": [], "errors": [], "status_code": 0, "system_error": "dial tcp 10.43.0.10:6001: connect: connection refused"}

# Ratify failed on one image (e.g. the registry refused it).
ratify_image_error(request) := {
	"responses": [],
	"errors": [[key, "failed to resolve the subject"] | some key in request.keys],
	"status_code": 200,
	"system_error": "",
}

# Whatever Ratify would say: the images these tests use must never reach it.
refuse_all(request) := {"responses": [[key, {"isSuccess": false}] | some key in request.keys], "errors": [], "status_code": 200, "system_error": ""}

# The mocks stand in for the call Gatekeeper makes; `with` needs each named where it applies.
with_ratify(review) := {v.msg | some v in k8ssignedimages.violation with input as review with external_data as ratify}

with_ratify_down(review) := {v.msg | some v in k8ssignedimages.violation with input as review with external_data as ratify_down}

with_image_error(review) := {v.msg | some v in k8ssignedimages.violation with input as review with external_data as ratify_image_error}

# No violation and no call at all (the policy's `answer` is only made when some image needs it).
unchecked(review) if {
	count({v | some v in k8ssignedimages.violation with input as review with external_data as refuse_all}) == 0
	not k8ssignedimages.answer with input as review with external_data as refuse_all
}

test_allows_signed_image if {
	count(with_ratify(deployment([signed]))) == 0
}

test_allows_upstream_image_without_calling_ratify if {
	unchecked(deployment(["docker.io/library/redis:7.4.2-alpine"]))
}

test_allows_other_harbor_project_without_calling_ratify if {
	unchecked(deployment(["harbor.home.example/dockerhub/library/redis:7.4.2-alpine"]))
}

test_allows_exempt_image if {
	review := object.union(deployment([unsigned]), {"parameters": {"exemptImages": ["harbor.home.example/ktsw/task-worker@*"]}})
	unchecked(review)
}

test_denies_unsigned_image if {
	with_ratify(deployment([unsigned])) == {
		sprintf(`init container "migrate" (spec.template.spec.initContainers[0]): image %q is denied: it has no valid signature by the site's key (unsigned, signed by another key, or its signature is for other content); deploy the digest the pipeline signed`, [unsigned]),
		sprintf(`container "c0" (spec.template.spec.containers[0]): image %q is denied: it has no valid signature by the site's key (unsigned, signed by another key, or its signature is for other content); deploy the digest the pipeline signed`, [unsigned]),
	}
}

test_denies_only_the_unsigned_one_of_two if {
	msgs := with_ratify(deployment([signed, unsigned]))
	count(msgs) == 1
	some msg in msgs
	contains(msg, `container "c1"`)
	contains(msg, unsigned)
}

test_reports_when_ratify_is_down if {
	msgs := with_ratify_down(deployment([signed]))
	count(msgs) == 2
	every msg in msgs {
		contains(msg, "was not verified: the signature verifier could not answer (dial tcp 10.43.0.10:6001: connect: connection refused)")
	}
}

test_reports_an_image_error_as_unanswered if {
	msgs := with_image_error(deployment([signed]))
	count(msgs) == 2
	every msg in msgs {
		contains(msg, "the signature verifier failed on it (failed to resolve the subject)")
	}
}

# The tree's two constraints split the outcomes: one reports refusals only, the other no verdict only.
only(report, review) := object.union(review, {"parameters": {"report": report}})

test_denies_refusal_only_where_refused_is_reported if {
	count(with_ratify(only(["refused"], deployment([unsigned])))) == 2
	count(with_ratify(only(["unanswered"], deployment([unsigned])))) == 0
}

test_allows_an_outage_where_only_refused_is_reported if {
	count(with_ratify_down(only(["refused"], deployment([signed])))) == 0
	count(with_ratify_down(only(["unanswered"], deployment([signed])))) == 2
}

test_allows_signed_image_under_both_constraints if {
	count(with_ratify(only(["refused"], deployment([signed])))) == 0
	count(with_ratify(only(["unanswered"], deployment([signed])))) == 0
}
