# Images built by the site's pipeline (the `registries` prefixes: harbor.<domain>/ktsw/) run only when signed by the
# site's cosign key. Ratify, a Gatekeeper external data provider (platform/ratify), verifies each such image and
# answers per image; anything but a clear success denies: unsigned, signed by another key, signed for other content,
# an error for that image, or no answer at all (Ratify down or slower than its provider timeout). Failing closed is
# safe here because only these images depend on Ratify: it runs in an exempt namespace from upstream images, so it
# never needs itself to start. Other images are never sent to Ratify; k8simageprovenance says where they may come from.
package k8ssignedimages

import data.lib.workloads

params := object.union({"registries": [], "provider": "ratify-provider", "exemptImages": []}, object.get(input, "parameters", {}))

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

reason(image) := "the signature verifier gave no answer" if not answer

else := sprintf("the signature verifier could not answer (%v)", [system_error]) if system_error

else := sprintf("the signature verifier failed on it (%v)", [image_error(image)]) if image_error(image)

else := "it has no valid signature by the site's key (unsigned, signed by another key, or its signature is for other content)"

violation contains {"msg": msg} if {
	some entry in checked
	image := entry.container.image
	not verified(image)
	msg := sprintf("%s: image %q is denied: %s; the pipeline signs what it pushes, deploy the digest it signed", [workloads.describe(entry), image, reason(image)])
}
