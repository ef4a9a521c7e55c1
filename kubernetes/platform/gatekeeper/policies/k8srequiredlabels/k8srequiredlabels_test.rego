package k8srequiredlabels_test

import data.k8srequiredlabels

required := ["app.kubernetes.io/name", "app.kubernetes.io/part-of"]

good := {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"}

review(object) := {"parameters": {"labels": required}, "review": {"object": object}}

deployment(labels, template_labels) := review({
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "shop", "labels": labels},
	"spec": {"template": {"metadata": {"labels": template_labels}, "spec": {"containers": []}}},
})

messages(r) := {v.msg | some v in k8srequiredlabels.violation with input as r}

test_allows_labelled_deployment if {
	count(messages(deployment(good, good))) == 0
}

test_allows_labelled_pod if {
	count(messages(review({"kind": "Pod", "metadata": {"name": "p", "labels": good}, "spec": {"containers": []}}))) == 0
}

test_allows_labelled_service_without_template if {
	count(messages(review({"kind": "Service", "metadata": {"name": "web", "labels": good}, "spec": {}}))) == 0
}

test_allows_labelled_cronjob if {
	cj := {"kind": "CronJob", "metadata": {"name": "c", "labels": good}, "spec": {"jobTemplate": {"metadata": {"labels": good}, "spec": {"template": {"metadata": {"labels": good}, "spec": {}}}}}}
	count(messages(review(cj))) == 0
}

test_denies_unlabelled_deployment if {
	messages(deployment({}, {})) == {
		`metadata.labels: add label "app.kubernetes.io/name" (e.g. app.kubernetes.io/name: web)`,
		`metadata.labels: add label "app.kubernetes.io/part-of" (e.g. app.kubernetes.io/part-of: web)`,
		`spec.template.metadata.labels: add label "app.kubernetes.io/name" (e.g. app.kubernetes.io/name: web)`,
		`spec.template.metadata.labels: add label "app.kubernetes.io/part-of" (e.g. app.kubernetes.io/part-of: web)`,
	}
}

test_denies_template_missing_part_of if {
	messages(deployment(good, {"app.kubernetes.io/name": "web"})) == {`spec.template.metadata.labels: add label "app.kubernetes.io/part-of" (e.g. app.kubernetes.io/part-of: web)`}
}

test_denies_empty_label_value if {
	messages(review({"kind": "Pod", "metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "", "app.kubernetes.io/part-of": "shop"}}})) == {`metadata.labels: add label "app.kubernetes.io/name" (e.g. app.kubernetes.io/name: p)`}
}
