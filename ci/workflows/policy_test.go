package workflows

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// Kinds of policy finding; actionlint's own findings carry its rule names
// ("job-needs", "expression", ...).
const (
	kindPinned       = "pinned"
	kindActionInputs = "action-inputs"
	kindPermissions  = "permissions"
	kindDeployGate   = "deploy-gate"
	kindSuite        = "suite"
	kindSyntax       = "syntax"
)

// finding is one problem in a workflow file, from actionlint or from a
// policy check.
type finding struct {
	file string
	line int
	kind string
	msg  string
}

func (f finding) String() string {
	return fmt.Sprintf("%s:%d: %s [%s]", f.file, f.line, f.msg, f.kind)
}

// workflowDoc is the part of a workflow the policy checks read. Nodes keep
// their line numbers for the messages.
type workflowDoc struct {
	On          yaml.Node `yaml:"on"`
	Permissions yaml.Node `yaml:"permissions"`
	Concurrency yaml.Node `yaml:"concurrency"`
	Jobs        yaml.Node `yaml:"jobs"`
}

// jobDoc is one entry of jobs:.
type jobDoc struct {
	Needs       yaml.Node         `yaml:"needs"`
	If          yaml.Node         `yaml:"if"`
	Environment yaml.Node         `yaml:"environment"`
	Permissions yaml.Node         `yaml:"permissions"`
	Outputs     map[string]string `yaml:"outputs"`
	RunsOn      yaml.Node         `yaml:"runs-on"`
	Uses        yaml.Node         `yaml:"uses"`
	Env         map[string]string `yaml:"env"`
	Steps       []stepDoc         `yaml:"steps"`
}

// stepDoc is one entry of a job's steps:.
type stepDoc struct {
	Uses yaml.Node         `yaml:"uses"`
	With yaml.Node         `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

// namedJob is a job with its id and the line of its key.
type namedJob struct {
	id   string
	line int
	jobDoc
}

// parsedWorkflow is a workflow file decoded for the policy checks.
type parsedWorkflow struct {
	path string
	doc  workflowDoc
	jobs []namedJob // in file order
}

// job returns the job with the given id, or nil.
func (w *parsedWorkflow) job(id string) *namedJob {
	for i := range w.jobs {
		if w.jobs[i].id == id {
			return &w.jobs[i]
		}
	}
	return nil
}

// parseWorkflow decodes a workflow file's YAML.
func parseWorkflow(path string, src []byte) (*parsedWorkflow, error) {
	w := &parsedWorkflow{path: path}
	if err := yaml.Unmarshal(src, &w.doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	jobs := w.doc.Jobs
	if jobs.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: jobs is not a mapping", path, jobs.Line)
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		key, val := jobs.Content[i], jobs.Content[i+1]
		j := namedJob{id: key.Value, line: key.Line}
		if err := val.Decode(&j.jobDoc); err != nil {
			return nil, fmt.Errorf("%s:%d: job %s: %w", path, key.Line, key.Value, err)
		}
		w.jobs = append(w.jobs, j)
	}
	return w, nil
}

// nodeStrings returns a scalar's value or a sequence's scalar values.
func nodeStrings(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode {
				out = append(out, c.Value)
			}
		}
		return out
	}
	return nil
}

// mapKeys returns a mapping node's keys with their nodes.
func mapKeys(n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i])
	}
	return out
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var (
	shaRef     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	versionTag = regexp.MustCompile(`^v[0-9]+(\.[0-9]+){0,2}$`)
	// versionComment is the release comment after a SHA pin: "# v4.2.2".
	versionComment = regexp.MustCompile(`^#\s*(v[0-9]+)(\.[0-9]+){0,2}\s*$`)
	// blessedGate matches an if: that requires needs.<job>.outputs.blessed
	// to be 'true'; group 1 is the job.
	blessedGate = regexp.MustCompile(`needs\.([A-Za-z0-9_-]+)\.outputs\.blessed\s*==\s*'true'`)
)

// checkPolicy applies this repository's workflow rules to one file.
func checkPolicy(path string) ([]finding, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read workflow: %w", err)
	}
	w, err := parseWorkflow(path, src)
	if err != nil {
		return []finding{{file: path, line: 1, kind: kindSyntax, msg: err.Error()}}, nil
	}
	var out []finding
	add := func(line int, kind, format string, args ...any) {
		out = append(out, finding{file: path, line: line, kind: kind, msg: fmt.Sprintf(format, args...)})
	}

	// Permissions: declared at the top, never write-all.
	if w.doc.Permissions.Kind == 0 {
		add(1, kindPermissions, "the workflow declares no top-level permissions: (the token would get the repository's default, often read-write)")
	}
	if p := &w.doc.Permissions; p.Kind == yaml.ScalarNode && p.Value == "write-all" {
		add(p.Line, kindPermissions, "the workflow asks for write-all permissions")
	}
	for _, j := range w.jobs {
		if j.Permissions.Kind == yaml.ScalarNode && j.Permissions.Value == "write-all" {
			add(j.Permissions.Line, kindPermissions, "job %s asks for write-all permissions", j.id)
		}
	}

	// Pins, and the inputs of SHA-pinned actions.
	for _, j := range w.jobs {
		if j.Uses.Kind == yaml.ScalarNode {
			out = append(out, checkUses(path, &j.Uses, nil)...)
		}
		for _, s := range j.Steps {
			if s.Uses.Kind == yaml.ScalarNode {
				out = append(out, checkUses(path, &s.Uses, &s.With)...)
			}
		}
	}

	// A deploying job runs only on a blessed model.
	for _, j := range w.jobs {
		if j.Environment.Kind == 0 {
			continue
		}
		needs := nodeStrings(&j.Needs)
		m := blessedGate.FindStringSubmatch(j.If.Value)
		switch {
		case m == nil:
			add(j.line, kindDeployGate, "job %s deploys to an environment but its if: does not require needs.<job>.outputs.blessed == 'true' (if: %q)", j.id, j.If.Value)
		case !slices.Contains(needs, m[1]):
			add(j.If.Line, kindDeployGate, "job %s is gated on needs.%s.outputs.blessed but does not need %s (needs: %v)", j.id, m[1], m[1], needs)
		default:
			if g := w.job(m[1]); g == nil || g.Outputs["blessed"] == "" {
				add(j.If.Line, kindDeployGate, "job %s is gated on needs.%s.outputs.blessed but job %s has no blessed output", j.id, m[1], m[1])
			}
		}
	}

	// Pull requests run the suite the way developers do.
	if triggers(&w.doc.On, "pull_request") {
		found := false
		for _, j := range w.jobs {
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "./.ci/run") {
					found = true
				}
			}
		}
		if !found {
			add(w.doc.On.Line, kindSuite, "the workflow runs on pull_request but no step runs ./.ci/run (make test)")
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].line < out[b].line })
	return out, nil
}

// triggers reports whether an on: node names the event.
func triggers(on *yaml.Node, event string) bool {
	if slices.Contains(nodeStrings(on), event) {
		return true
	}
	return mapValue(on, event) != nil
}

// checkUses checks one uses: value and, for a SHA-pinned action that
// actionlint's data set knows, its with: inputs (nil for a reusable
// workflow's uses:).
func checkUses(path string, uses, with *yaml.Node) []finding {
	var out []finding
	add := func(line int, kind, format string, args ...any) {
		out = append(out, finding{file: path, line: line, kind: kind, msg: fmt.Sprintf(format, args...)})
	}
	spec := uses.Value
	switch {
	case strings.HasPrefix(spec, "./"):
		return nil // an action or workflow of this repository, at this commit
	case strings.HasPrefix(spec, "docker://"):
		if !strings.Contains(spec, "@sha256:") {
			add(uses.Line, kindPinned, "%s is not pinned by digest (docker://image@sha256:...)", spec)
		}
		return out
	}
	action, ref, ok := strings.Cut(spec, "@")
	if !ok {
		add(uses.Line, kindPinned, "%s names no ref: pin a commit SHA (with the release in a comment) or a version tag", spec)
		return out
	}
	switch {
	case shaRef.MatchString(ref):
		m := versionComment.FindStringSubmatch(uses.LineComment)
		if m == nil {
			add(uses.Line, kindPinned, "%s is pinned by SHA without its release in a comment (\"# v1.2.3\"), so nobody can tell what it is or bump it", spec)
			return out
		}
		if with != nil {
			out = append(out, checkInputs(path, action+"@"+m[1], uses, with)...)
		}
	case versionTag.MatchString(ref):
		// actionlint checks the inputs of tag-pinned actions itself.
	default:
		add(uses.Line, kindPinned, "%s is not pinned: %q is neither a commit SHA nor a version tag (a branch moves under you)", spec, ref)
	}
	return out
}

// checkInputs checks a step's with: keys against actionlint's data set for
// the action's major release (spec "owner/repo@v4"). Actions it does not
// know pass.
func checkInputs(path, spec string, uses, with *yaml.Node) []finding {
	meta, ok := actionlint.PopularActions[spec]
	if !ok || meta.SkipInputs {
		return nil
	}
	var out []finding
	given := map[string]bool{}
	for _, k := range mapKeys(with) {
		name := strings.ToLower(k.Value)
		given[name] = true
		if _, ok := meta.Inputs[name]; !ok {
			known := make([]string, 0, len(meta.Inputs))
			for n := range meta.Inputs {
				known = append(known, n)
			}
			sort.Strings(known)
			out = append(out, finding{file: path, line: k.Line, kind: kindActionInputs,
				msg: fmt.Sprintf("input %q is not defined by %s (it takes %s)", k.Value, spec, strings.Join(known, ", "))})
		}
	}
	for name, in := range meta.Inputs {
		if in.Required && !given[name] {
			out = append(out, finding{file: path, line: uses.Line, kind: kindActionInputs,
				msg: fmt.Sprintf("%s requires input %q", spec, name)})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].msg < out[b].msg })
	return out
}
