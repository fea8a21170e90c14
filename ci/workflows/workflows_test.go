package workflows

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// The repository's workflows, actionlint configuration and Kubernetes
// manifests, from this package's directory.
const (
	workflowsDir = "../../.github/workflows"
	configFile   = "../../.github/actionlint.yaml"
	k8sDir       = "../../deploy/k8s"
)

// workflowFiles returns the repository's workflow files.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(workflowsDir, pat))
		if err != nil {
			t.Fatalf("glob %s: %v", pat, err)
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	for _, want := range []string{"ci.yml", "cd.yml"} {
		if !slices.Contains(files, filepath.Join(workflowsDir, want)) {
			t.Fatalf("%s is missing from %s (found %v)", want, workflowsDir, files)
		}
	}
	return files
}

// runActionlint lints files with actionlint and the repository's
// configuration. shellcheck names the shellcheck executable for checking
// run: scripts, or is empty to leave it out; pyflakes is always left out
// (no workflow runs Python). Without either external tool the result
// depends on nothing but the files.
func runActionlint(t *testing.T, files []string, shellcheck string) []finding {
	t.Helper()
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{
		Color:      actionlint.ColorOptionKindNever,
		Oneline:    true,
		ConfigFile: configFile,
		Shellcheck: shellcheck,
	})
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		t.Fatalf("actionlint %v: %v", files, err)
	}
	var found []finding
	for _, e := range errs {
		found = append(found, finding{file: e.Filepath, line: e.Line, kind: e.Kind, msg: e.Message})
	}
	return found
}

// checkAll runs actionlint (without shellcheck) and the policy checks.
func checkAll(t *testing.T, files []string) []finding {
	t.Helper()
	found := runActionlint(t, files, "")
	for _, f := range files {
		p, err := checkPolicy(f)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, p...)
	}
	return found
}

func reportFindings(t *testing.T, found []finding) {
	t.Helper()
	for _, f := range found {
		t.Errorf("%s", f)
	}
}

// TestWorkflows is the check make test runs: actionlint and the policy
// over every workflow in .github/workflows.
func TestWorkflows(t *testing.T) {
	reportFindings(t, checkAll(t, workflowFiles(t)))
}

// TestWorkflowsShellcheck lints the workflows again with shellcheck over
// every run: script, where shellcheck is installed (ci.yml's lint job
// always has it).
func TestWorkflowsShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed: run: scripts are checked in CI's lint job")
	}
	reportFindings(t, runActionlint(t, workflowFiles(t), sc))
}

// TestBrokenWorkflows shows each check failing on a workflow broken in one
// way, and only in that way.
func TestBrokenWorkflows(t *testing.T) {
	cases := []struct {
		file  string
		kind  string // of the finding that names the break
		want  string // in that finding's message
		other string // the one other kind allowed, if any
	}{
		{"needs-undefined.yml", "job-needs", `job "test" needs job "biuld" which does not exist`, ""},
		{"bad-expression.yml", "expression", `undefined variable "secret"`, ""},
		{"undefined-output.yml", "expression", `property "blessd" is not defined`, ""},
		{"unknown-runner-label.yml", "runner-label", `label "gpus" is unknown`, ""},
		{"unpinned-action.yml", kindPinned, `"main" is neither a commit SHA nor a version tag`, ""},
		{"sha-without-version.yml", kindPinned, "without its release in a comment", ""},
		{"unknown-input.yml", kindActionInputs, `input "go_version" is not defined by actions/setup-go@v5`, ""},
		{"missing-input.yml", kindActionInputs, `actions/upload-artifact@v4 requires input "path"`, ""},
		{"no-permissions.yml", kindPermissions, "declares no top-level permissions", ""},
		{"write-all.yml", kindPermissions, "job build asks for write-all permissions", ""},
		{"ungated-deploy.yml", kindDeployGate, "job deploy deploys to an environment but its if: does not require", ""},
		{"gate-not-needed.yml", kindDeployGate, "is gated on needs.retrain.outputs.blessed but does not need retrain", "expression"},
		{"no-suite.yml", kindSuite, "no step runs ./.ci/run", ""},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			found := checkAll(t, []string{filepath.Join("testdata", tc.file)})
			hit := false
			for _, f := range found {
				if f.kind != tc.kind && f.kind != tc.other {
					t.Errorf("unexpected finding: %s", f)
				}
				if strings.Contains(f.msg, tc.want) {
					hit = true
				}
			}
			if !hit {
				t.Errorf("no %s finding containing %q; got %v", tc.kind, tc.want, found)
			}
		})
	}
}

func scalar(value, comment string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: value, LineComment: comment, Line: 7}
}

// TestCheckUses covers every form a uses: can take.
func TestCheckUses(t *testing.T) {
	const sha = "11bd71901bbe5b1630ceea73d27597364c9af683"
	cases := []struct {
		uses, comment string
		want          string // substring of the one finding; "" for none
	}{
		{"actions/checkout@" + sha, "# v4.2.2", ""},
		{"actions/checkout@" + sha, "#v4", ""},
		{"actions/checkout@v4", "", ""},
		{"actions/checkout@v4.2.2", "", ""},
		{"./.github/actions/local", "", ""},
		{"docker://alpine@sha256:" + strings.Repeat("a", 64), "", ""},
		{"actions/checkout@main", "", "neither a commit SHA nor a version tag"},
		{"actions/checkout@releases/v4", "", "neither a commit SHA nor a version tag"},
		{"actions/checkout@" + sha[:12], "# v4.2.2", "neither a commit SHA nor a version tag"},
		{"actions/checkout@" + sha, "", "without its release in a comment"},
		{"actions/checkout@" + sha, "# latest", "without its release in a comment"},
		{"actions/checkout", "", "names no ref"},
		{"docker://alpine:3.20", "", "not pinned by digest"},
	}
	for _, tc := range cases {
		t.Run(tc.uses+tc.comment, func(t *testing.T) {
			got := checkUses("w.yml", scalar(tc.uses, tc.comment), nil)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("unexpected findings: %v", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0].msg, tc.want) || got[0].line != 7):
				t.Errorf("got %v, want one finding on line 7 containing %q", got, tc.want)
			}
		})
	}
}

// loadWorkflow parses one of the repository's workflows.
func loadWorkflow(t *testing.T, name string) *parsedWorkflow {
	t.Helper()
	path := filepath.Join(workflowsDir, name)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := parseWorkflow(path, src)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// mustJob returns a job or fails the test.
func mustJob(t *testing.T, w *parsedWorkflow, id string) *namedJob {
	t.Helper()
	j := w.job(id)
	if j == nil {
		t.Fatalf("%s has no job %s", w.path, id)
	}
	return j
}

// runs reports whether some step of the job runs a command containing s.
func runs(j *namedJob, s string) bool {
	return slices.ContainsFunc(j.Steps, func(st stepDoc) bool { return strings.Contains(st.Run, s) })
}

// TestRepoWorkflows checks what ci.yml and cd.yml promise beyond the
// general rules: the jobs exist, run what they should, and the deploy is
// gated the way ci/README.md describes.
func TestRepoWorkflows(t *testing.T) {
	ci := loadWorkflow(t, "ci.yml")
	for _, id := range []string{"lint", "test", "build", "demo"} {
		mustJob(t, ci, id)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"ci: the test job runs ./.ci/run", runs(mustJob(t, ci, "test"), "./.ci/run")},
		{"ci: the lint job runs go vet (make vet)", runs(mustJob(t, ci, "lint"), "make vet")},
		{"ci: the lint job runs actionlint", runs(mustJob(t, ci, "lint"), "actionlint")},
		{"ci: the build job builds ./cmd/nebras", runs(mustJob(t, ci, "build"), "go build") && runs(mustJob(t, ci, "build"), "./cmd/nebras")},
		{"ci: the build is static (CGO_ENABLED=0)", hasEnv(mustJob(t, ci, "build"), "go build", "CGO_ENABLED", "0")},
		{"ci: the demo job runs make demo NO_SERVE=1", runs(mustJob(t, ci, "demo"), "make demo NO_SERVE=1")},
		{"ci: the demo job needs test", slices.Contains(nodeStrings(&mustJob(t, ci, "demo").Needs), "test")},
		{"ci: superseded pull request runs are cancelled", mapValue(&ci.doc.Concurrency, "cancel-in-progress") != nil},
	}

	cd := loadWorkflow(t, "cd.yml")
	images, retrain, deploy := mustJob(t, cd, "images"), mustJob(t, cd, "retrain"), mustJob(t, cd, "deploy")
	labels := nodeStrings(&retrain.RunsOn)
	envName := deploy.Environment.Value
	if v := mapValue(&deploy.Environment, "name"); v != nil {
		envName = v.Value
	}
	checks = append(checks, []struct {
		name string
		ok   bool
	}{
		{"cd: runs on tags", mapValue(mapValue(&cd.doc.On, "push"), "tags") != nil},
		{"cd: images pushes with provenance and an SBOM", pushesWithProvenance(images) == 2},
		{"cd: retrain runs on the self-hosted GPU runner", slices.Equal(labels, []string{"self-hosted", "linux", "x64", "gpu"})},
		{"cd: retrain runs nebras run --config ci/pipeline.yaml", runs(retrain, "nebras run --config ci/pipeline.yaml --work-dir \"$WORK_DIR\"")},
		{"cd: retrain reads the tracking server from secrets", strings.Contains(retrain.Env["MLFLOW_TRACKING_URI"], "secrets.") && strings.Contains(retrain.Env["MLFLOW_TRACKING_TOKEN"], "secrets.")},
		{"cd: retrain outputs blessed", retrain.Outputs["blessed"] != ""},
		{"cd: retrain reads the gate's decision from last-run.json", runs(retrain, `jq -r '.blessed | tostring' "$WORK_DIR/last-run.json"`)},
		{"cd: not blessed is a green job", runs(retrain, "false) echo \"::notice")},
		{"cd: deploy needs images and retrain", slices.Equal(nodeStrings(&deploy.Needs), []string{"images", "retrain"})},
		{"cd: deploy is gated on the blessed output", strings.TrimSpace(deploy.If.Value) == "needs.retrain.outputs.blessed == 'true'"},
		{"cd: deploy waits for the production environment", envName == "production"},
		{"cd: deploy applies deploy/k8s", runs(deploy, "kubectl apply -k") && runs(deploy, "../../deploy/k8s")},
		{"cd: deploy waits for the rollout", runs(deploy, "rollout status")},
	}...)
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: no", c.name)
		}
	}

	// Every custom runner label is declared for actionlint.
	cfg, err := actionlint.ReadConfigFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.SelfHostedRunner.Labels, "gpu") {
		t.Errorf("%s does not declare the gpu runner label (has %v)", configFile, cfg.SelfHostedRunner.Labels)
	}

	// Our own workflows pin every action by SHA, not just by tag.
	for _, w := range []*parsedWorkflow{ci, cd} {
		for _, j := range w.jobs {
			for _, s := range j.Steps {
				if s.Uses.Kind == 0 || strings.HasPrefix(s.Uses.Value, "./") {
					continue
				}
				if _, ref, _ := strings.Cut(s.Uses.Value, "@"); !shaRef.MatchString(ref) {
					t.Errorf("%s:%d: %s is not pinned by commit SHA", w.path, s.Uses.Line, s.Uses.Value)
				}
			}
		}
	}
}

// hasEnv reports whether the job, or a step of it that runs a command
// containing run, sets name to value.
func hasEnv(j *namedJob, run, name, value string) bool {
	if j.Env[name] == value {
		return true
	}
	return slices.ContainsFunc(j.Steps, func(s stepDoc) bool {
		return strings.Contains(s.Run, run) && s.Env[name] == value
	})
}

// pushesWithProvenance counts the job's build-push-action steps that push
// with provenance mode=max and an SBOM.
func pushesWithProvenance(j *namedJob) int {
	n := 0
	for _, s := range j.Steps {
		if !strings.HasPrefix(s.Uses.Value, "docker/build-push-action@") {
			continue
		}
		get := func(k string) string {
			if v := mapValue(&s.With, k); v != nil {
				return v.Value
			}
			return ""
		}
		if get("push") == "true" && get("provenance") == "mode=max" && get("sbom") == "true" {
			n++
		}
	}
	return n
}

// TestDeployMatchesManifests checks that the names cd.yml's deploy job
// uses exist in deploy/k8s: the namespace and Deployment it waits for, and
// the image names its overlay replaces.
func TestDeployMatchesManifests(t *testing.T) {
	if _, err := os.Stat(filepath.Join(k8sDir, "kustomization.yaml")); errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s has no kustomization.yaml yet", k8sDir)
	}
	m, err := loadManifests(k8sDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range deployMismatches(mustJob(t, loadWorkflow(t, "cd.yml"), "deploy").Env, m) {
		t.Error(p)
	}
}

// TestDeployMismatches runs the comparison on manifests in testdata/k8s.
func TestDeployMismatches(t *testing.T) {
	m, err := loadManifests("testdata/k8s")
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		"NAMESPACE":            "nebras",
		"DEPLOYMENT":           "nebras-serving",
		"MANIFEST_SERVE_IMAGE": "ghcr.io/nebras-ai/nebras-serve",
		"MANIFEST_TRAIN_IMAGE": "ghcr.io/nebras-ai/nebras-train",
	}
	cases := []struct {
		name, key, value string
		want             string // in the one problem; "" for none
	}{
		{"matches", "", "", ""},
		{"other namespace", "NAMESPACE", "default", "deployment default/nebras-serving"},
		{"other deployment", "DEPLOYMENT", "nebras", "deployment nebras/nebras"},
		{"serve image with a tag", "MANIFEST_SERVE_IMAGE", "ghcr.io/nebras-ai/nebras-serve:latest", "image ghcr.io/nebras-ai/nebras-serve:latest"},
		{"other train image", "MANIFEST_TRAIN_IMAGE", "nebras-train", "image nebras-train"},
		{"missing", "DEPLOYMENT", "", "deployment nebras/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(good)
			if tc.key != "" {
				env[tc.key] = tc.value
			}
			got := deployMismatches(env, m)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("unexpected problems: %v", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("got %v, want one problem containing %q", got, tc.want)
			}
		})
	}
}

// deployMismatches compares the deploy job's env with the manifests.
func deployMismatches(env map[string]string, m manifests) []string {
	var out []string
	if d := env["NAMESPACE"] + "/" + env["DEPLOYMENT"]; !slices.Contains(m.deployments, d) {
		out = append(out, fmt.Sprintf("deploy waits for deployment %s; deploy/k8s has %v", d, m.deployments))
	}
	for _, key := range []string{"MANIFEST_SERVE_IMAGE", "MANIFEST_TRAIN_IMAGE"} {
		if img := env[key]; !slices.Contains(m.imageRepos, img) {
			out = append(out, fmt.Sprintf("deploy's overlay replaces image %s (%s); deploy/k8s uses %v", img, key, m.imageRepos))
		}
	}
	return out
}

// manifests is what TestDeployMatchesManifests needs from deploy/k8s.
type manifests struct {
	deployments []string // namespace/name
	imageRepos  []string // images without tag or digest
}

// loadManifests reads every YAML document under dir. The kustomization's
// namespace applies to objects that set none.
func loadManifests(dir string) (manifests, error) {
	var kust struct {
		Namespace string `yaml:"namespace"`
	}
	var m manifests
	src, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return m, fmt.Errorf("read kustomization: %w", err)
	}
	if err := yaml.Unmarshal(src, &kust); err != nil {
		return m, fmt.Errorf("parse %s/kustomization.yaml: %w", dir, err)
	}
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == "kustomization.yaml" ||
			(!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		dec := yaml.NewDecoder(f)
		for {
			var obj struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name      string `yaml:"name"`
					Namespace string `yaml:"namespace"`
				} `yaml:"metadata"`
			}
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if err := doc.Decode(&obj); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			ns := obj.Metadata.Namespace
			if ns == "" {
				ns = kust.Namespace
			}
			if obj.Kind == "Deployment" {
				m.deployments = append(m.deployments, ns+"/"+obj.Metadata.Name)
			}
			collectImages(&doc, &m.imageRepos)
		}
	})
	if err != nil {
		return m, fmt.Errorf("read manifests in %s: %w", dir, err)
	}
	return m, nil
}

// collectImages appends the repository of every image: value under n.
func collectImages(n *yaml.Node, repos *[]string) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "image" && v.Kind == yaml.ScalarNode {
				if repo := imageRepo(v.Value); !slices.Contains(*repos, repo) {
					*repos = append(*repos, repo)
				}
			}
		}
	}
	for _, c := range n.Content {
		collectImages(c, repos)
	}
}

// imageRepo strips the tag and digest from an image reference.
func imageRepo(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}
