# Shared helpers: where a pod spec lives in each workload kind, and every container in it.
# Embedded as `libs` into each ConstraintTemplate that needs it, so a Deployment in Git is checked
# exactly like the Pod it will create.
package lib.workloads

# Kinds whose pod template sits at spec.template.
templated_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}

pod_spec_path(obj) := "spec" if obj.kind == "Pod"

pod_spec_path(obj) := "spec.template.spec" if obj.kind in templated_kinds

pod_spec_path(obj) := "spec.jobTemplate.spec.template.spec" if obj.kind == "CronJob"

pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_spec(obj) := obj.spec.template.spec if obj.kind in templated_kinds

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

# Metadata blocks whose labels end up on created objects, with their path for messages.
template_metadata(obj) := [] if obj.kind == "Pod"

template_metadata(obj) := [{"path": "spec.template.metadata", "metadata": object.get(obj, ["spec", "template", "metadata"], {})}] if {
	obj.kind in templated_kinds
}

template_metadata(obj) := [
	{"path": "spec.jobTemplate.metadata", "metadata": object.get(obj, ["spec", "jobTemplate", "metadata"], {})},
	{"path": "spec.jobTemplate.spec.template.metadata", "metadata": object.get(obj, ["spec", "jobTemplate", "spec", "template", "metadata"], {})},
] if {
	obj.kind == "CronJob"
}

# Every container of the given fields ("containers", "initContainers", "ephemeralContainers"),
# each with a path like `spec.template.spec.containers[0]` so messages point at the exact entry.
containers_in(obj, fields) := [entry |
	spec := pod_spec(obj)
	some field in fields
	some i, c in object.get(spec, field, [])
	entry := {
		"field": field,
		"name": object.get(c, "name", sprintf("#%d", [i])),
		"container": c,
		"path": sprintf("%s.%s[%d]", [pod_spec_path(obj), field, i]),
	}
]

all_containers(obj) := containers_in(obj, ["initContainers", "containers", "ephemeralContainers"])

# Human label for a container entry: `container "app" (spec.containers[0])`.
describe(entry) := sprintf("%s %q (%s)", [kind_word[entry.field], entry.name, entry.path])

kind_word := {"containers": "container", "initContainers": "init container", "ephemeralContainers": "ephemeral container"}

# Exemption by image: exact match, or prefix match when the entry ends with `*`
# (same convention as the Gatekeeper library's exemptImages).
image_exempt(image, exempt) if {
	some e in exempt
	e == image
}

image_exempt(image, exempt) if {
	some e in exempt
	endswith(e, "*")
	startswith(image, trim_suffix(e, "*"))
}

# The namespace of the reviewed object (admission requests may carry it outside the object).
namespace(review) := ns if {
	ns := review.object.metadata.namespace
	ns != ""
} else := object.get(review, "namespace", "")
