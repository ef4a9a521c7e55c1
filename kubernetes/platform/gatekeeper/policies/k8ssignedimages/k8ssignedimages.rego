# Images built by the site's pipeline (the `registries` prefixes: harbor.<domain>/ktsw/) run only when signed by the
# site's cosign key. Ratify, a Gatekeeper external data provider (platform/ratify), verifies each such image and
# answers per image. Two outcomes count, each reported by the constraints whose `report` names it:
#   refused     Ratify verified and said no: unsigned, signed by another key, or a signature for other content
#   unanswered  no verdict: Ratify down or slower than its provider timeout, or an error for that image
# so a constraint can deny refusals outright while an outage of the verifier is handled apart (platform/ratify's
# README says how the tree does it). Other images are never sent to Ratify; k8simageprovenance says where they may
# come from.
package k8ssignedimages

import data.lib.workloads

params := object.union(
	{"registries": [], "provider": "ratify-provider", "exemptImages": [], "report": ["refused", "unanswered"]},
	object.get(input, "parameters", {}),
)

checked contains entry if {
	some entry in workloads.all_containers(input.review.object)
	image := object.get(entry.container, "image", "")
	some prefix in params.registries
	startswith(image, prefix)
	not workloads.image_exempt(image, params.exemptImages)
}

images := {entry.container.image | some entry in checked}

# One call for all of the object's images, made only when some image needs it.
answer := external_data({"provider": params.provider, "keys": [image | some image in images]}) if count(images) > 0

verified(image) if {
	some response in object.get(answer, "responses", [])
	response[0] == image
	response[1].isSuccess == true
}

image_error(image) := err if {
	some e in object.get(answer, "errors", [])
	e[0] == image
	err := e[1]
}

system_error := err if {
	err := object.get(answer, "system_error", "")
	err != ""
}

outcome(image) := "verified" if verified(image)

else := "unanswered" if not answer

else := "unanswered" if system_error

else := "unanswered" if image_error(image)

else := "refused"

explain(image, "refused") := sprintf("image %q is denied: it has no valid signature by the site's key (unsigned, signed by another key, or its signature is for other content); deploy the digest the pipeline signed", [image])

explain(image, "unanswered") := sprintf("image %q was not verified: %s", [image, no_verdict(image)])

no_verdict(image) := "the signature verifier gave no answer" if not answer

else := sprintf("the signature verifier could not answer (%v)", [system_error]) if system_error

else := sprintf("the signature verifier failed on it (%v)", [image_error(image)])

violation contains {"msg": msg} if {
	some entry in checked
	image := entry.container.image
	result := outcome(image)
	result in params.report
	msg := sprintf("%s: %s", [workloads.describe(entry), explain(image, result)])
}
