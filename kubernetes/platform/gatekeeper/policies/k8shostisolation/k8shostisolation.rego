# Pods stay in their own namespaces of the node: no hostPath volumes, no host network, PID or IPC
# namespace. Only system components (exempted by the constraint's match) may reach into the host.
package k8shostisolation

import data.lib.workloads

obj := input.review.object

violation contains {"msg": msg} if {
	spec := workloads.pod_spec(obj)
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	spec[field] == true
	msg := sprintf("%s.%s: must be false (or omitted); only exempt system namespaces may share the host's namespaces", [workloads.pod_spec_path(obj), field])
}

violation contains {"msg": msg} if {
	spec := workloads.pod_spec(obj)
	some i, volume in object.get(spec, "volumes", [])
	volume.hostPath
	msg := sprintf("%s.volumes[%d] (%q): hostPath %q is not allowed; use a PersistentVolumeClaim, ConfigMap, Secret or emptyDir", [workloads.pod_spec_path(obj), i, volume.name, volume.hostPath.path])
}
