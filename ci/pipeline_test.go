package ci

import (
	"os"
	"regexp"
	"testing"

	"github.com/nebras-ai/nebras/orchestrate"
)

// TestPipelineConfig checks the config cd.yml's retrain job runs: it must
// validate as nebras run would, and cd.yml must name it.
func TestPipelineConfig(t *testing.T) {
	data, err := os.ReadFile("pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := orchestrate.ParseConfig(data, "ci/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		t.Fatal("no config")
	}
	cd, err := os.ReadFile("../.github/workflows/cd.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`nebras run --config ci/pipeline\.yaml\b`).Match(cd) {
		t.Error("cd.yml does not run nebras run --config ci/pipeline.yaml")
	}
	// A typo must not pass: the parser is strict.
	if _, err := orchestrate.ParseConfig(append(data, []byte("\ntrain_typo: 1\n")...), "x.yaml"); err == nil {
		t.Error("an unknown field validated")
	}
}
