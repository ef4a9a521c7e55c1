# Workloads carry the recommended labels that say what they are and which app they belong to, on
# the object and on the pod template (so the Pods, ReplicaSets and Jobs they create carry them too).
package k8srequiredlabels

import data.lib.workloads

obj := input.review.object

labels := object.get(input, ["parameters", "labels"], [])

# The object's own metadata and, for workloads, each template's metadata.
metadata_blocks := array.concat([{"path": "metadata", "metadata": object.get(obj, "metadata", {})}], template_blocks)

template_blocks := workloads.template_metadata(obj) if workloads.pod_spec_path(obj)

else := []

violation contains {"msg": msg} if {
	some block in metadata_blocks
	some label in labels
	value := object.get(block.metadata, ["labels", label], "")
	value == ""
	msg := sprintf("%s.labels: add label %q (e.g. %s: %s)", [block.path, label, label, object.get(obj, ["metadata", "name"], "my-app")])
}
