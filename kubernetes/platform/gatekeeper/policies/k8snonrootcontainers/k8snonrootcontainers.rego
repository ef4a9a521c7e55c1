# No container runs as root or can become root: every container (init and ephemeral too) must run
# with runAsNonRoot, a non-zero runAsUser, not privileged, no privilege escalation and all
# capabilities dropped. Pod-level securityContext counts for runAsNonRoot/runAsUser, the only
# fields of these that Kubernetes lets a pod set for all its containers.
package k8snonrootcontainers

import data.lib.workloads

# Containers this policy applies to: all of them except exempt images.
checked contains entry if {
	some entry in workloads.all_containers(input.review.object)
	not exempt(entry)
}

exempt(entry) if workloads.image_exempt(object.get(entry.container, "image", ""), object.get(input, ["parameters", "exemptImages"], []))

pod := workloads.pod_spec(input.review.object)

# Container value wins over the pod value, as in Kubernetes.
effective(c, field) := v if {
	v := object.get(c, ["securityContext", field], null)
	v != null
} else := object.get(pod, ["securityContext", field], null)

violation contains {"msg": msg} if {
	some entry in checked
	effective(entry.container, "runAsNonRoot") != true
	msg := sprintf("%s: set securityContext.runAsNonRoot: true (on the container or the pod)", [workloads.describe(entry)])
}

violation contains {"msg": msg} if {
	some entry in checked
	effective(entry.container, "runAsUser") == 0
	msg := sprintf("%s: securityContext.runAsUser is 0 (root); set a non-zero UID such as 65532", [workloads.describe(entry)])
}

violation contains {"msg": msg} if {
	some entry in checked
	object.get(entry.container, ["securityContext", "privileged"], false) == true
	msg := sprintf("%s: set securityContext.privileged: false", [workloads.describe(entry)])
}

violation contains {"msg": msg} if {
	some entry in checked
	object.get(entry.container, ["securityContext", "allowPrivilegeEscalation"], null) != false
	msg := sprintf("%s: set securityContext.allowPrivilegeEscalation: false", [workloads.describe(entry)])
}

violation contains {"msg": msg} if {
	some entry in checked
	drops := {upper(d) | some d in object.get(entry.container, ["securityContext", "capabilities", "drop"], [])}
	not "ALL" in drops
	msg := sprintf("%s: set securityContext.capabilities.drop: [\"ALL\"]", [workloads.describe(entry)])
}
