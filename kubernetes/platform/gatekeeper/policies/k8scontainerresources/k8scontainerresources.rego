# Every container and init container declares CPU and memory requests and limits, so the scheduler
# can place it and a runaway process cannot starve its neighbours on a small homelab node.
# (Ephemeral containers cannot have resources; Kubernetes rejects them there.)
package k8scontainerresources

import data.lib.workloads

required := [["requests", "cpu"], ["requests", "memory"], ["limits", "cpu"], ["limits", "memory"]]

violation contains {"msg": msg} if {
	some entry in workloads.containers_in(input.review.object, ["initContainers", "containers"])
	not workloads.image_exempt(object.get(entry.container, "image", ""), object.get(input, ["parameters", "exemptImages"], []))
	some field in required
	object.get(entry.container, array.concat(["resources"], field), "") == ""
	msg := sprintf("%s: set resources.%s.%s", [workloads.describe(entry), field[0], field[1]])
}
