// Command status-check computes what Argo CD and Flux make of tenancy.dev objects, with their
// own code, so the delivery tests check the health script and the kstatus conditions against the
// real evaluators instead of a re-implementation:
//
//	status-check argocd-health [--open-libs] SCRIPT.lua < objects
//	status-check kstatus < objects
//
// Objects come on stdin as YAML documents or JSON (one or many; a `kind: List` is unwrapped).
// The answer is a JSON array on stdout, one {"status", "message"} per object in input order;
// an object the evaluator cannot judge gets {"status": "Unknown", "message", "error"}.
// hack/build-tools.sh builds it into bin/ (`make tools`).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// result is what the tests read for one object.
type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	// Error is set when the evaluator failed (Argo CD then shows Unknown with this message).
	Error string `json:"error,omitempty"`
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "status-check:", err)
		os.Exit(2)
	}
}

const usage = "usage: status-check argocd-health [--open-libs] SCRIPT.lua < objects | status-check kstatus < objects"

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	var evaluate func(*unstructured.Unstructured) result
	switch args[0] {
	case "argocd-health":
		openLibs := false
		rest := args[1:]
		if len(rest) > 0 && rest[0] == "--open-libs" {
			openLibs, rest = true, rest[1:]
		}
		if len(rest) != 1 {
			return errors.New(usage)
		}
		script, err := os.ReadFile(rest[0])
		if err != nil {
			return err
		}
		evaluate = func(u *unstructured.Unstructured) result { return argoHealth(u, string(script), openLibs) }
	case "kstatus":
		if len(args) != 1 {
			return errors.New(usage)
		}
		evaluate = kstatus
	default:
		return errors.New(usage)
	}
	objects, err := readObjects(stdin)
	if err != nil {
		return err
	}
	results := make([]result, 0, len(objects))
	for _, u := range objects {
		results = append(results, evaluate(u))
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(results)
}

// kstatus is Flux's (and kpt's, and cli-utils' applier's) verdict: status.Compute from
// sigs.k8s.io/cli-utils/pkg/kstatus/status, as `flux` and kustomize-controller's health checks call it.
func kstatus(u *unstructured.Unstructured) result {
	res, err := status.Compute(u)
	if err != nil {
		return result{Status: string(status.UnknownStatus), Message: err.Error(), Error: err.Error()}
	}
	return result{Status: string(res.Status), Message: res.Message}
}

// readObjects decodes a stream of YAML documents or JSON objects the way the API machinery does
// (numbers as int64 or float64, as Argo CD's and Flux's caches hold them), skipping empty documents.
func readObjects(r io.Reader) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(r), 4096)
	var out []*unstructured.Unstructured
	for {
		var raw runtime.RawExtension
		if err := decoder.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("reading object %d: %w", len(out)+1, err)
		}
		if len(raw.Raw) == 0 || string(raw.Raw) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw.Raw); err != nil {
			return nil, fmt.Errorf("reading object %d: %w", len(out)+1, err)
		}
		if u.IsList() {
			if err := u.EachListItem(func(item runtime.Object) error {
				out = append(out, item.(*unstructured.Unstructured))
				return nil
			}); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, u)
	}
}
