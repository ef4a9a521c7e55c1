# Long-running application containers (Deployments, StatefulSets) declare readiness and liveness
# probes, so rollouts wait for real readiness and hung processes get restarted.
# The constraint's match limits this to those kinds and to application namespaces.
package k8srequiredprobes

import data.lib.workloads

probes := object.get(input, ["parameters", "probes"], ["readinessProbe", "livenessProbe"])

violation contains {"msg": msg} if {
	some entry in workloads.containers_in(input.review.object, ["containers"])
	not workloads.image_exempt(object.get(entry.container, "image", ""), object.get(input, ["parameters", "exemptImages"], []))
	some probe in probes
	not entry.container[probe]
	msg := sprintf("%s: add a %s (httpGet, tcpSocket, grpc or exec)", [workloads.describe(entry), probe])
}
