// tekton-validate: Tekton Pipelines' own admission checks, run offline on YAML files.
//
// It does what the tekton-pipelines-webhook does to a create request, with the same code: each document
// of a tekton.dev group is decoded strictly (an unknown field is an error, as the webhook's strict
// decoding makes it) into the upstream Go type, defaulted with SetDefaults and checked with Validate, in
// a context that carries the feature flags and defaults of the ConfigMaps `feature-flags` and
// `config-defaults` when the input holds them (the chart's rendered ConfigMaps), else Tekton's defaults.
// A typo such as $(params.revsion) in a Task is reported by Tekton's own parameter checks.
//
// Usage: tekton-validate FILE...  (multi-document YAML; documents of other groups are skipped)
// Output: one line per problem, "FILE: KIND NAME: message"; exit 1 when any, 2 on a usage or read error.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

// doc is one YAML document of one input file.
type doc struct {
	file  string
	index int
	json  []byte
	kind  string
	api   string
	name  string
}

// validatable is what every Tekton type the webhook admits implements.
type validatable interface {
	apis.Validatable
	apis.Defaultable
}

// newObject returns an empty value of the Tekton type for apiVersion/kind, or nil when Tekton's
// webhook would not admit it (an unknown kind or version is reported, not skipped).
func newObject(api, kind string) validatable {
	switch api + "/" + kind {
	case "tekton.dev/v1/Task":
		return &v1.Task{}
	case "tekton.dev/v1/Pipeline":
		return &v1.Pipeline{}
	case "tekton.dev/v1/TaskRun":
		return &v1.TaskRun{}
	case "tekton.dev/v1/PipelineRun":
		return &v1.PipelineRun{}
	case "tekton.dev/v1beta1/StepAction":
		return &v1beta1.StepAction{}
	}
	return nil
}

func readDocs(path string) ([]doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs []doc
	for i := 0; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(js, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		if head.Kind == "" && head.APIVersion == "" {
			continue // a comment-only document
		}
		docs = append(docs, doc{file: path, index: i + 1, json: js, kind: head.Kind, api: head.APIVersion, name: head.Metadata.Name})
	}
}

// contextFor builds the webhook's config from the ConfigMaps feature-flags and config-defaults among
// the inputs (the chart's), falling back to Tekton's defaults for what they do not set.
func contextFor(docs []doc) (context.Context, error) {
	cfg := config.FromContextOrDefaults(context.Background())
	for _, d := range docs {
		if d.api != "v1" || d.kind != "ConfigMap" {
			continue
		}
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(d.json, &cm); err != nil {
			return nil, fmt.Errorf("%s: ConfigMap %s: %w", d.file, d.name, err)
		}
		switch cm.Name {
		case config.GetFeatureFlagsConfigName():
			flags, err := config.NewFeatureFlagsFromMap(cm.Data)
			if err != nil {
				return nil, fmt.Errorf("%s: ConfigMap %s: %w", d.file, d.name, err)
			}
			cfg.FeatureFlags = flags
		case config.GetDefaultsConfigName():
			defaults, err := config.NewDefaultsFromMap(cm.Data)
			if err != nil {
				return nil, fmt.Errorf("%s: ConfigMap %s: %w", d.file, d.name, err)
			}
			cfg.Defaults = defaults
		}
	}
	return config.ToContext(context.Background(), cfg), nil
}

// check returns the webhook's verdict on one document: nil when it would be admitted.
func check(ctx context.Context, d doc) []string {
	obj := newObject(d.api, d.kind)
	if obj == nil {
		return []string{fmt.Sprintf("%s is not a kind this checker knows (tekton.dev/v1 Task, Pipeline, TaskRun, PipelineRun; v1beta1 StepAction)", d.api)}
	}
	// Strict, as the webhook decodes: a misspelled field is an error, not silently dropped.
	if err := yaml.UnmarshalStrict(d.json, obj); err != nil {
		return []string{err.Error()}
	}
	// A created object with only generateName has its name by the time admission sees it: the API server
	// appends five random characters first. Five zeros stand in for them.
	if meta, ok := obj.(metav1.Object); ok && meta.GetName() == "" && meta.GetGenerateName() != "" {
		meta.SetName(meta.GetGenerateName() + "00000")
	}
	// The webhook defaults, then validates the defaulted object, within a create.
	ctx = apis.WithinCreate(ctx)
	obj.SetDefaults(ctx)
	ferr := obj.Validate(ctx)
	if ferr == nil {
		return nil
	}
	var out []string
	for _, e := range ferr.WrappedErrors() {
		out = append(out, strings.ReplaceAll(e.Error(), "\n", "; "))
	}
	if len(out) == 0 {
		out = append(out, strings.ReplaceAll(ferr.Error(), "\n", "; "))
	}
	return out
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: tekton-validate FILE...")
		os.Exit(2)
	}
	var docs []doc
	for _, path := range os.Args[1:] {
		ds, err := readDocs(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		docs = append(docs, ds...)
	}
	ctx, err := contextFor(docs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed, checked := 0, 0
	for _, d := range docs {
		if !strings.HasPrefix(d.api, "tekton.dev/") {
			continue
		}
		checked++
		for _, msg := range check(ctx, d) {
			failed++
			fmt.Printf("%s: %s %s: %s\n", d.file, d.kind, d.name, msg)
		}
	}
	fmt.Fprintf(os.Stderr, "tekton-validate: %d Tekton objects checked, %d problems\n", checked, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
