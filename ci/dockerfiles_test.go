// Package ci holds what CI runs besides the Go tests: the container images'
// Dockerfiles and scripts. Its test lints every ci/Dockerfile* with
// buildkit's own Dockerfile parser, since Docker is not available to build
// them here: base images pinned by digest, a numeric non-root user, the
// binary copied where the ENTRYPOINT runs it, no remote ADD, no baked-in
// secrets, and for the serving image a port, an --addr and an exec-form
// health check that agree.
package ci

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// binaryPath is where both images install nebras.
const binaryPath = "/usr/local/bin/nebras"

var (
	digestPinned = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	secretName   = regexp.MustCompile(`(?i)(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL)`)
)

// instruction is one Dockerfile instruction, parsed.
type instruction struct {
	cmd  string   // upper case: FROM, COPY, ...
	args []string // the words after the command and its flags
	// flags are the --name=value flags before the arguments.
	flags []string
	json  bool // exec (JSON array) form
	line  int
}

// text is the instruction's words as written, flags included.
func (in instruction) text() string {
	return strings.Join(append(slices.Clone(in.flags), in.args...), " ")
}

// stage is the instructions from one FROM up to the next.
type stage struct {
	from   instruction
	name   string // the AS name, lower case; "" when none
	instrs []instruction
}

// last returns the stage's last instruction of kind cmd.
func (s stage) last(cmd string) (instruction, bool) {
	for i := len(s.instrs) - 1; i >= 0; i-- {
		if s.instrs[i].cmd == cmd {
			return s.instrs[i], true
		}
	}
	return instruction{}, false
}

// parseStages parses a Dockerfile into its global instructions (the ARGs
// before the first FROM) and its stages.
func parseStages(src []byte) (global []instruction, stages []stage, err error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing: %w", err)
	}
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToUpper(n.Value), flags: n.Flags, json: n.Attributes["json"], line: n.StartLine}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		switch {
		case in.cmd == "FROM":
			st := stage{from: in}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				st.name = strings.ToLower(in.args[2])
			}
			stages = append(stages, st)
		case len(stages) == 0:
			global = append(global, in)
		default:
			stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
		}
	}
	if len(stages) == 0 {
		return nil, nil, fmt.Errorf("no FROM instruction")
	}
	return global, stages, nil
}

// lintDockerfile returns the problems of a Dockerfile, each as "line N:
// what is wrong". serve adds the serving image's checks: EXPOSE, the
// --addr of CMD and an exec-form HEALTHCHECK that agree.
func lintDockerfile(src []byte, serve bool) ([]string, error) {
	global, stages, err := parseStages(src)
	if err != nil {
		return nil, err
	}
	var problems []string
	report := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}

	// Checks on every stage.
	names := map[string]bool{}
	for _, in := range global {
		lintSecrets(in, report)
	}
	for _, st := range stages {
		image := ""
		if len(st.from.args) > 0 {
			image = st.from.args[0]
		}
		switch {
		case names[strings.ToLower(image)], image == "scratch":
			// An earlier stage, or nothing: no image to pin.
		case strings.Contains(image, "$"):
			report(st.from.line, "FROM %s: a variable base image cannot be checked; write the image with its @sha256 digest", image)
		case !digestPinned.MatchString(image):
			report(st.from.line, "FROM %s is not pinned by digest (want IMAGE:TAG@sha256:<64 hex>)", image)
		}
		if st.name != "" {
			names[st.name] = true
		}
		for _, in := range st.instrs {
			lintSecrets(in, report)
			if in.cmd == "ADD" && len(in.args) > 1 {
				for _, src := range in.args[:len(in.args)-1] {
					if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
						report(in.line, "ADD of the remote source %s: download in a RUN step with a checksum, or COPY from the context", src)
					}
				}
			}
		}
	}

	// Checks on the final stage, the image that runs.
	final := stages[len(stages)-1]
	if user, ok := final.last("USER"); !ok || len(user.args) == 0 {
		report(final.from.line, "the final stage has no USER: the image would run as root")
	} else {
		uid, _, _ := strings.Cut(user.args[0], ":")
		if _, err := strconv.ParseUint(uid, 10, 32); err != nil {
			report(user.line, "USER %s: want a numeric uid, so that Kubernetes can check runAsNonRoot", user.args[0])
		} else if uid == "0" {
			report(user.line, "USER %s runs as root", user.args[0])
		}
	}

	entry, ok := final.last("ENTRYPOINT")
	var exe string
	switch {
	case !ok || len(entry.args) == 0:
		report(final.from.line, "the final stage has no ENTRYPOINT")
	case !entry.json:
		report(entry.line, "ENTRYPOINT %s: want the exec form [\"/path/to/binary\", ...] (no shell in the image)", entry.text())
	case !path.IsAbs(entry.args[0]):
		report(entry.line, "ENTRYPOINT runs %s: want an absolute path", entry.args[0])
	default:
		exe = entry.args[0]
		if !slices.Contains(copiedPaths(final), exe) {
			report(entry.line, "ENTRYPOINT runs %s, which no COPY of the final stage puts there (it copies to %v)", exe, copiedPaths(final))
		}
	}

	if serve {
		lintServe(final, exe, report)
	}
	return problems, nil
}

// lintServe checks that the serving image's CMD listens on the port it
// exposes and that its health check runs the image's own binary there.
func lintServe(final stage, exe string, report func(int, string, ...any)) {
	port := ""
	if cmd, ok := final.last("CMD"); !ok {
		report(final.from.line, "the serving image has no CMD with --addr")
	} else if !cmd.json {
		report(cmd.line, "CMD %s: want the exec form, a list of `nebras serve` flags", cmd.text())
	} else if addr, ok := flagValue(cmd.args, "--addr"); !ok {
		report(cmd.line, "CMD has no --addr HOST:PORT (`nebras serve` listens on 127.0.0.1 by default, unreachable from outside the container)")
	} else if host, p, err := net.SplitHostPort(addr); err != nil {
		report(cmd.line, "CMD --addr %s: want HOST:PORT", addr)
	} else if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		report(cmd.line, "CMD --addr %s: want a wildcard host (0.0.0.0), reachable from outside the container", addr)
	} else {
		port = p
	}

	var exposed []string
	line := final.from.line
	for _, in := range final.instrs {
		if in.cmd == "EXPOSE" {
			line = in.line
			for _, p := range in.args {
				exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
			}
		}
	}
	if port != "" && !slices.Equal(exposed, []string{port}) {
		report(line, "EXPOSE %v, want exactly the --addr port %s", exposed, port)
	}

	hc, ok := final.last("HEALTHCHECK")
	switch {
	case !ok:
		report(final.from.line, "the serving image has no HEALTHCHECK")
	case len(hc.args) == 0 || strings.EqualFold(hc.args[0], "NONE"):
		report(hc.line, "HEALTHCHECK NONE: the serving image needs a health check")
	case !hc.json:
		report(hc.line, "HEALTHCHECK %s: want the exec form CMD [\"%s\", \"healthcheck\", ...]; the base image has no shell", hc.text(), binaryPath)
	case len(hc.args) < 2 || hc.args[1] != exe:
		report(hc.line, "HEALTHCHECK runs %v, want the image's own binary %s (the base image has no curl)", hc.args[1:], exe)
	default:
		target, ok := flagValue(hc.args[2:], "--url")
		if !ok {
			report(hc.line, "HEALTHCHECK has no --url")
			break
		}
		u, err := url.Parse(target)
		if err != nil || u.Port() == "" {
			report(hc.line, "HEALTHCHECK --url %s: want http://127.0.0.1:PORT/readyz", target)
		} else if port != "" && u.Port() != port {
			report(hc.line, "HEALTHCHECK asks port %s, but the server listens on %s", u.Port(), port)
		}
	}
}

// lintSecrets reports an ENV or ARG that gives a secret-looking name a
// value: credentials come at run time, never in an image layer.
func lintSecrets(in instruction, report func(int, string, ...any)) {
	var pairs [][2]string
	switch in.cmd {
	case "ENV": // key, value, separator triples
		for i := 0; i+1 < len(in.args); i += 3 {
			pairs = append(pairs, [2]string{in.args[i], unquote(in.args[i+1])})
		}
	case "ARG":
		for _, a := range in.args {
			k, v, _ := strings.Cut(a, "=")
			pairs = append(pairs, [2]string{k, unquote(v)})
		}
	}
	for _, p := range pairs {
		if secretName.MatchString(p[0]) && p[1] != "" {
			report(in.line, "%s %s has a value: pass secrets at run time (-e %s, a Kubernetes Secret), never in the image", in.cmd, p[0], p[0])
		}
	}
}

// copiedPaths returns the file paths COPY and ADD create in the stage.
func copiedPaths(st stage) []string {
	var out []string
	for _, in := range st.instrs {
		if (in.cmd != "COPY" && in.cmd != "ADD") || len(in.args) < 2 {
			continue
		}
		srcs, dest := in.args[:len(in.args)-1], in.args[len(in.args)-1]
		if len(srcs) == 1 && !strings.HasSuffix(dest, "/") {
			out = append(out, path.Clean(dest))
			continue
		}
		for _, s := range srcs {
			out = append(out, path.Join(dest, path.Base(s)))
		}
	}
	return out
}

// flagValue returns the value of a flag given as "--name value" or
// "--name=value".
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, "'")
}

// dockerfiles returns the repository's Dockerfiles, at least the two images.
func dockerfiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("Dockerfile*")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Dockerfile.serve", "Dockerfile.train"} {
		if !slices.Contains(files, want) {
			t.Fatalf("ci/%s is missing (found %v)", want, files)
		}
	}
	return files
}

func TestDockerfiles(t *testing.T) {
	for _, name := range dockerfiles(t) {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			problems, err := lintDockerfile(src, strings.HasSuffix(name, ".serve"))
			if err != nil {
				t.Fatalf("ci/%s: %v", name, err)
			}
			for _, p := range problems {
				t.Errorf("ci/%s: %s", name, p)
			}

			// Both images install the binary at the same place, which the
			// Kubernetes manifests and the docs name.
			_, stages, err := parseStages(src)
			if err != nil {
				t.Fatal(err)
			}
			if entry, ok := stages[len(stages)-1].last("ENTRYPOINT"); !ok || len(entry.args) == 0 || entry.args[0] != binaryPath {
				t.Errorf("ci/%s: ENTRYPOINT %v, want it to run %s", name, entry.args, binaryPath)
			}
		})
	}
}

// TestDockerfileServeDefaults pins what the serving image runs by default,
// which deploy/k8s/serving.yaml and the docs repeat.
func TestDockerfileServeDefaults(t *testing.T) {
	src, err := os.ReadFile("Dockerfile.serve")
	if err != nil {
		t.Fatal(err)
	}
	_, stages, err := parseStages(src)
	if err != nil {
		t.Fatal(err)
	}
	final := stages[len(stages)-1]
	entry, _ := final.last("ENTRYPOINT")
	cmd, _ := final.last("CMD")
	if want := []string{binaryPath, "serve"}; !slices.Equal(entry.args, want) {
		t.Errorf("ENTRYPOINT %q, want %q", entry.args, want)
	}
	for flag, want := range map[string]string{"--addr": "0.0.0.0:8080", "--registry-model": "nebras-support-bot", "--log-format": "json"} {
		if got, _ := flagValue(cmd.args, flag); got != want {
			t.Errorf("CMD %s %q, want %q", flag, got, want)
		}
	}
	if user, _ := final.last("USER"); len(user.args) == 0 || user.args[0] != "65532:65532" {
		t.Errorf("USER %v, want 65532:65532 (distroless nonroot)", user.args)
	}
}

// TestLintDockerfile runs the checker on small Dockerfiles in testdata,
// each breaking one rule, so that every check provably fails.
func TestLintDockerfile(t *testing.T) {
	tests := []struct {
		file  string
		serve bool
		want  string // the one problem expected; "" for none
	}{
		{"good.serve.Dockerfile", true, ""},
		{"good-copy-to-dir.serve.Dockerfile", true, ""},
		{"good.train.Dockerfile", false, ""},
		{"unpinned-build.Dockerfile", true, "FROM golang:1.26.4 is not pinned by digest"},
		{"unpinned-runtime.Dockerfile", true, "FROM gcr.io/distroless/static-debian12:nonroot is not pinned by digest"},
		{"short-digest.Dockerfile", false, "is not pinned by digest"},
		{"variable-from.Dockerfile", false, "a variable base image cannot be checked"},
		{"no-user.Dockerfile", true, "no USER"},
		{"user-only-in-build.Dockerfile", true, "no USER"},
		{"root-user.Dockerfile", true, "USER root: want a numeric uid"},
		{"uid-zero.Dockerfile", true, "USER 0:0 runs as root"},
		{"named-user.Dockerfile", false, "USER nonroot: want a numeric uid"},
		{"wrong-binary-path.Dockerfile", true, "ENTRYPOINT runs /usr/local/bin/nebras, which no COPY"},
		{"shell-entrypoint.Dockerfile", false, "want the exec form"},
		{"relative-entrypoint.Dockerfile", false, "want an absolute path"},
		{"no-entrypoint.Dockerfile", false, "no ENTRYPOINT"},
		{"expose-mismatch.Dockerfile", true, "EXPOSE [9090], want exactly the --addr port 8080"},
		{"no-expose.Dockerfile", true, "EXPOSE [], want exactly the --addr port 8080"},
		{"cmd-no-addr.Dockerfile", true, "CMD has no --addr"},
		{"cmd-loopback.Dockerfile", true, "want a wildcard host"},
		{"shell-cmd.Dockerfile", true, "CMD --addr 0.0.0.0:8080 --registry-model nebras-support-bot: want the exec form"},
		{"no-healthcheck.Dockerfile", true, "no HEALTHCHECK"},
		{"healthcheck-none.Dockerfile", true, "HEALTHCHECK NONE"},
		{"healthcheck-shell.Dockerfile", true, "HEALTHCHECK CMD curl -f http://127.0.0.1:8080/readyz: want the exec form"},
		{"healthcheck-curl.Dockerfile", true, "want the image's own binary"},
		{"healthcheck-port.Dockerfile", true, "HEALTHCHECK asks port 9090, but the server listens on 8080"},
		{"remote-add.Dockerfile", false, "ADD of the remote source https://"},
		{"secret-env.Dockerfile", false, "ENV HF_TOKEN has a value"},
		{"secret-arg.Dockerfile", false, "ARG MLFLOW_TRACKING_PASSWORD has a value"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			problems, err := lintDockerfile(src, tt.serve)
			if err != nil {
				t.Fatalf("lintDockerfile: %v", err)
			}
			switch {
			case tt.want == "" && len(problems) > 0:
				t.Errorf("want no problems, got %q", problems)
			case tt.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], tt.want)):
				t.Errorf("want exactly one problem containing %q, got %q", tt.want, problems)
			}
		})
	}

	// The serving rules are what catch a serving image without a health
	// check: the same file passes the common rules.
	src, err := os.ReadFile(filepath.Join("testdata", "no-healthcheck.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := lintDockerfile(src, false); err != nil || len(problems) != 0 {
		t.Errorf("without the serving rules: problems %q, err %v; want none", problems, err)
	}
	if _, err := lintDockerfile([]byte("# nothing\n"), false); err == nil {
		t.Error("a Dockerfile without FROM: want an error")
	}
}
