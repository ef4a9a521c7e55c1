# Images come from the site's own Harbor (scanned, cached, signed there) or, in platform namespaces
# only, from an explicit list of upstream registries; and every image is pinned by tag or digest,
# never `latest`, so what runs is what Git says.
package k8simageprovenance

import data.lib.workloads

namespace := workloads.namespace(input.review)

params := object.union({"registries": [], "platformNamespaces": [], "platformRegistries": [], "exemptImages": []}, object.get(input, "parameters", {}))

allowed_registries := array.concat(params.registries, params.platformRegistries) if namespace in params.platformNamespaces

else := params.registries

checked contains entry if {
	some entry in workloads.all_containers(input.review.object)
	not workloads.image_exempt(object.get(entry.container, "image", ""), params.exemptImages)
}

from_allowed_registry(image) if {
	some prefix in allowed_registries
	startswith(image, prefix)
}

violation contains {"msg": msg} if {
	some entry in checked
	image := object.get(entry.container, "image", "")
	not from_allowed_registry(image)
	msg := sprintf("%s: image %q is not from an allowed registry; use one of %v", [workloads.describe(entry), image, allowed_registries])
}

# The part after the last `/` holds the tag (a registry host may contain `:port`).
last_segment(image) := parts[count(parts) - 1] if parts := split(image, "/")

has_digest(image) if contains(image, "@sha256:")

tag(image) := t if {
	not has_digest(image)
	segment := last_segment(image)
	contains(segment, ":")
	pieces := split(segment, ":")
	t := pieces[count(pieces) - 1]
}

violation contains {"msg": msg} if {
	some entry in checked
	image := object.get(entry.container, "image", "")
	not has_digest(image)
	not tag(image)
	msg := sprintf("%s: image %q has no tag or digest; pin a version tag (e.g. :1.2.3) or @sha256 digest", [workloads.describe(entry), image])
}

violation contains {"msg": msg} if {
	some entry in checked
	image := object.get(entry.container, "image", "")
	tag(image) == "latest"
	msg := sprintf("%s: image %q uses the mutable tag latest; pin a version tag or @sha256 digest", [workloads.describe(entry), image])
}
