// Package k8s holds Nebras' Kubernetes manifests (kubectl apply -k). Its
// test checks them against the rest of the repository rather than against
// a cluster: the probes against the routes the real server answers, the
// autoscaler's metrics against the ones it registers, the images and users
// against ci/Dockerfile.*, the arguments against the flags the CLI's source
// declares, and the retraining config against the pipeline's own parser.
package k8s

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dockerfile "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/nebras-ai/nebras/orchestrate"
	"github.com/nebras-ai/nebras/serving"
	"github.com/nebras-ai/nebras/serving/batcher"
)

// The objects the checks look for by name.
const (
	servingName = "nebras-serving"
	retrainName = "nebras-retrain"
)

// Kubernetes objects, as far as the checks read them.

type meta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// intOrString is a Kubernetes IntOrString, kept as written.
type intOrString string

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a string", n.Line)
	}
	*v = intOrString(n.Value)
	return nil
}

type securityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional *bool  `yaml:"optional"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env       []envVar `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext securityContext `yaml:"securityContext"`
	ReadinessProbe  *probe          `yaml:"readinessProbe"`
	LivenessProbe   *probe          `yaml:"livenessProbe"`
	StartupProbe    *probe          `yaml:"startupProbe"`
	Lifecycle       struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
}

type volume struct {
	Name      string    `yaml:"name"`
	EmptyDir  *struct{} `yaml:"emptyDir"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
}

type podTemplate struct {
	Metadata meta `yaml:"metadata"`
	Spec     struct {
		TerminationGracePeriodSeconds *int              `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               securityContext   `yaml:"securityContext"`
		NodeSelector                  map[string]string `yaml:"nodeSelector"`
		Tolerations                   []struct {
			Key    string `yaml:"key"`
			Effect string `yaml:"effect"`
		} `yaml:"tolerations"`
		RestartPolicy string      `yaml:"restartPolicy"`
		Containers    []container `yaml:"containers"`
		Volumes       []volume    `yaml:"volumes"`
	} `yaml:"spec"`
}

type deployment struct {
	Spec struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Template podTemplate   `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string      `yaml:"name"`
			TargetPort intOrString `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type pdb struct {
	Spec struct {
		MinAvailable *intOrString  `yaml:"minAvailable"`
		Selector     labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type hpa struct {
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas *int `yaml:"minReplicas"`
		MaxReplicas int  `yaml:"maxReplicas"`
		Metrics     []struct {
			Type string `yaml:"type"`
			Pods *struct {
				Metric struct {
					Name string `yaml:"name"`
				} `yaml:"metric"`
				Target struct {
					Type         string `yaml:"type"`
					AverageValue string `yaml:"averageValue"`
				} `yaml:"target"`
			} `yaml:"pods"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

type serviceMonitor struct {
	Spec struct {
		Selector  labelSelector `yaml:"selector"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type cronJob struct {
	Spec struct {
		Schedule          string `yaml:"schedule"`
		ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
		JobTemplate       struct {
			Spec struct {
				BackoffLimit *int        `yaml:"backoffLimit"`
				Template     podTemplate `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type configMap struct {
	Data map[string]string `yaml:"data"`
}

type kustomization struct {
	Resources []string `yaml:"resources"`
	Images    []struct {
		Name   string `yaml:"name"`
		NewTag string `yaml:"newTag"`
	} `yaml:"images"`
}

// doc is one YAML document of a manifest file.
type doc struct {
	file string
	line int
	node *yaml.Node
	object
}

// manifests are the directory's files, parsed.
type manifests struct {
	files map[string][]byte
	docs  []doc
	kust  kustomization
}

// parseManifests parses every file: the kustomization, and the
// multi-document manifests it lists.
func parseManifests(files map[string][]byte) (*manifests, error) {
	m := &manifests{files: files}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range files {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		dec := yaml.NewDecoder(bytes.NewReader(files[name]))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s:%d: a document that is not a mapping", name, n.Line)
			}
			d := doc{file: name, line: n.Content[0].Line, node: &n}
			if err := n.Decode(&d.object); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, d.line, err)
			}
			if name == "kustomization.yaml" {
				if err := n.Decode(&m.kust); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				continue
			}
			m.docs = append(m.docs, d)
		}
	}
	return m, nil
}

// find returns the documents of a kind.
func (m *manifests) find(kind string) []doc {
	var out []doc
	for _, d := range m.docs {
		if d.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

// decodeNamed decodes the one object of kind and name into v.
func (m *manifests) decodeNamed(kind, name string, v any) (doc, error) {
	for _, d := range m.find(kind) {
		if d.Metadata.Name == name {
			if err := d.node.Decode(v); err != nil {
				return d, fmt.Errorf("%s:%d: %s %s: %w", d.file, d.line, kind, name, err)
			}
			return d, nil
		}
	}
	return doc{}, fmt.Errorf("no %s %s", kind, name)
}

// image is what a Dockerfile builds, as the manifests need to know it.
type image struct {
	name       string // ghcr.io/OWNER/TITLE
	binary     string // what ENTRYPOINT runs
	uid        int64  // the final USER
	entrypoint []string
	cmd        []string
}

// facts are what the manifests are checked against, read from the rest of
// the repository.
type facts struct {
	serve, train image
	handler      http.Handler
	gauges       map[string]bool // the server's unlabelled gauges
	serveFlags   map[string]bool // flags of `nebras serve`, with the root's
	runFlags     map[string]bool // flags of `nebras retrain`, with the root's
	// adapterSeries are the seriesQuery lines of the prometheus-adapter
	// rule deploy/README.md documents.
	adapterSeries []string
}

type fakeBackend struct{}

func (fakeBackend) Submit(context.Context, batcher.Request) (*batcher.Stream, error) {
	return nil, batcher.ErrNoModel
}
func (fakeBackend) Model() (batcher.ModelInfo, bool) { return batcher.ModelInfo{}, false }
func (fakeBackend) Stats() batcher.Stats             { return batcher.Stats{} }

func loadFacts(t *testing.T) *facts {
	t.Helper()
	f := &facts{}
	var err error
	if f.serve, err = readImage("../../ci/Dockerfile.serve"); err != nil {
		t.Fatal(err)
	}
	if f.train, err = readImage("../../ci/Dockerfile.train"); err != nil {
		t.Fatal(err)
	}

	// The real server, whose routes the probes must hit and whose
	// metrics the autoscaler reads.
	reg := prometheus.NewRegistry()
	srv, err := serving.New(fakeBackend{}, serving.Options{Registry: reg})
	if err != nil {
		t.Fatalf("serving.New: %v", err)
	}
	f.handler = srv.Handler()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering the server's metrics: %v", err)
	}
	f.gauges = map[string]bool{}
	for _, fam := range families {
		if fam.GetType() == dto.MetricType_GAUGE {
			f.gauges[fam.GetName()] = true
		}
	}

	// The flags, from the CLI's source: cmd/nebras is package main, and
	// building and running it under -race would be slow.
	root := cliFlags(t, "main.go", "", "newRootCmd")
	f.serveFlags = union(root, cliFlags(t, "serve.go", "serveFlags", "register"),
		cliFlags(t, "serve.go", "app", "serveCmd"), cliFlags(t, "runs.go", "trackingFlags", "register"))
	f.runFlags = union(root, cliFlags(t, "watch.go", "cycleFlags", "add"), cliFlags(t, "watch.go", "app", "retrainCmd"))
	for _, want := range []string{"addr", "registry-model", "cache-dir", "log-format"} {
		if !f.serveFlags[want] {
			t.Fatalf("found no --%s among the serve flags %v: has cmd/nebras changed shape?", want, f.serveFlags)
		}
	}
	if !f.runFlags["config"] {
		t.Fatalf("found no --config among the retrain flags %v", f.runFlags)
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(readme), "\n") {
		if q, ok := strings.CutPrefix(strings.TrimSpace(line), "- seriesQuery:"); ok {
			f.adapterSeries = append(f.adapterSeries, q)
		}
	}
	if len(f.adapterSeries) == 0 {
		t.Fatal("deploy/README.md documents no prometheus-adapter rule (a seriesQuery line)")
	}
	return f
}

// readImage reads what a Dockerfile's final stage builds.
func readImage(file string) (image, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return image{}, err
	}
	res, err := dockerfile.Parse(bytes.NewReader(src))
	if err != nil {
		return image{}, fmt.Errorf("%s: %w", file, err)
	}
	var img image
	var title, source string
	for _, n := range res.AST.Children {
		var args []string
		for a := n.Next; a != nil; a = a.Next {
			args = append(args, a.Value)
		}
		switch strings.ToUpper(n.Value) {
		case "FROM": // a new stage: only the final one counts
			img, title, source = image{}, "", ""
		case "LABEL":
			for i := 0; i+1 < len(args); i += 3 {
				v, err := strconv.Unquote(args[i+1])
				if err != nil {
					v = args[i+1]
				}
				switch args[i] {
				case "org.opencontainers.image.title":
					title = v
				case "org.opencontainers.image.source":
					source = v
				}
			}
		case "USER":
			uid, _, _ := strings.Cut(args[0], ":")
			if img.uid, err = strconv.ParseInt(uid, 10, 64); err != nil {
				return image{}, fmt.Errorf("%s: USER %s is not numeric", file, args[0])
			}
		case "ENTRYPOINT":
			img.entrypoint = args
		case "CMD":
			img.cmd = args
		}
	}
	owner, ok := strings.CutPrefix(source, "https://github.com/")
	owner, _, _ = strings.Cut(owner, "/")
	if !ok || owner == "" || title == "" || len(img.entrypoint) == 0 {
		return image{}, fmt.Errorf("%s: want the title and GitHub source labels and an ENTRYPOINT in the final stage", file)
	}
	img.name = "ghcr.io/" + owner + "/" + title
	img.binary = img.entrypoint[0]
	return img, nil
}

// cliFlags returns the flag names a function of cmd/nebras declares with
// pflag's XxxVar and XxxVarP (name is their second argument). recv is the
// method's receiver type, "" for a function.
func cliFlags(t *testing.T, file, recv, fn string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("../../cmd/nebras", file), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("reading the CLI: %v", err)
	}
	flags := map[string]bool{}
	found := false
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn || receiverName(fd) != recv {
			continue
		}
		found = true
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !(strings.HasSuffix(sel.Sel.Name, "Var") || strings.HasSuffix(sel.Sel.Name, "VarP")) {
				return true
			}
			if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if name, err := strconv.Unquote(lit.Value); err == nil {
					flags[name] = true
				}
			}
			return true
		})
	}
	if !found {
		t.Fatalf("cmd/nebras/%s has no function %s.%s", file, recv, fn)
	}
	return flags
}

func receiverName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	typ := fd.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

func union(sets ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			out[k] = true
		}
	}
	return out
}

// check returns every problem of the manifests.
func check(m *manifests, f *facts) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Every document is a named Kubernetes object.
	for _, d := range m.docs {
		if d.APIVersion == "" || d.Kind == "" || d.Metadata.Name == "" {
			report("%s:%d: want apiVersion, kind and metadata.name (have %q, %q, %q)", d.file, d.line, d.APIVersion, d.Kind, d.Metadata.Name)
		}
	}

	// The kustomization lists exactly the manifests present.
	var present []string
	for name := range m.files {
		if name != "kustomization.yaml" {
			present = append(present, name)
		}
	}
	slices.Sort(present)
	if listed := slices.Sorted(slices.Values(m.kust.Resources)); !slices.Equal(listed, present) {
		report("kustomization.yaml lists %v, but the directory holds %v", listed, present)
	}
	for _, img := range m.kust.Images {
		if img.Name != f.serve.name && img.Name != f.train.name {
			report("kustomization.yaml: image %s is neither %s nor %s", img.Name, f.serve.name, f.train.name)
		}
	}

	problems = append(problems, checkServing(m, f)...)
	problems = append(problems, checkRetrain(m, f)...)
	return problems
}

// checkServing checks the serving Deployment and the objects around it.
func checkServing(m *manifests, f *facts) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var dep deployment
	if _, err := m.decodeNamed("Deployment", servingName, &dep); err != nil {
		return []string{err.Error()}
	}
	pod := dep.Spec.Template
	podLabels := pod.Metadata.Labels
	if !selects(dep.Spec.Selector.MatchLabels, podLabels) {
		report("Deployment %s: selector %v does not select its pods %v", servingName, dep.Spec.Selector.MatchLabels, podLabels)
	}
	if len(pod.Spec.Containers) != 1 {
		return append(problems, fmt.Sprintf("Deployment %s: want one container, have %d", servingName, len(pod.Spec.Containers)))
	}
	c := pod.Spec.Containers[0]
	problems = append(problems, checkPod(servingName, pod, f.serve.uid, m)...)
	checkImage(servingName, c.Image, f.serve.name, report)
	if len(c.Command) > 0 {
		report("Deployment %s: command %v replaces the image's ENTRYPOINT %v", servingName, c.Command, f.serve.entrypoint)
	}

	// Arguments are flags `nebras serve` declares.
	args := flagArgs(c.Args)
	for name := range args {
		if !f.serveFlags[name] {
			report("Deployment %s: `nebras serve` has no flag --%s", servingName, name)
		}
	}
	if args["registry-model"] == "" {
		report("Deployment %s: no --registry-model: the pods would not follow the registry", servingName)
	}

	// One named port, the one --addr listens on, which the probes, the
	// Service and the ServiceMonitor use.
	port := ""
	if _, p, err := net.SplitHostPort(args["addr"]); err != nil {
		report("Deployment %s: --addr %q: want HOST:PORT", servingName, args["addr"])
	} else {
		port = p
	}
	var portName string
	if len(c.Ports) != 1 || c.Ports[0].Name == "" {
		report("Deployment %s: want one named container port, have %+v", servingName, c.Ports)
	} else {
		portName = c.Ports[0].Name
		if strconv.Itoa(c.Ports[0].ContainerPort) != port {
			report("Deployment %s: containerPort %d, but --addr listens on %s", servingName, c.Ports[0].ContainerPort, port)
		}
	}
	matchesPort := func(p intOrString) bool {
		return string(p) == portName || (port != "" && string(p) == port)
	}

	// Probes: readiness on /readyz, liveness on /healthz, and a startup
	// probe, all on routes the real server answers.
	for _, p := range []struct {
		kind, want string
		probe      *probe
	}{
		{"readinessProbe", "/readyz", c.ReadinessProbe},
		{"livenessProbe", "/healthz", c.LivenessProbe},
		{"startupProbe", "", c.StartupProbe},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			report("Deployment %s: no %s.httpGet", servingName, p.kind)
			continue
		}
		get := p.probe.HTTPGet
		if p.want != "" && get.Path != p.want {
			report("Deployment %s: %s on %s, want %s", servingName, p.kind, get.Path, p.want)
		}
		if code := status(f.handler, get.Path); code == http.StatusNotFound {
			report("Deployment %s: %s on %s, which the server does not route (404)", servingName, p.kind, get.Path)
		}
		if !matchesPort(get.Port) {
			report("Deployment %s: %s on port %s, but the server listens on %s (%s)", servingName, p.kind, get.Port, portName, port)
		}
	}

	// The tracking server from the ConfigMap, credentials from an optional
	// Secret.
	checkEnv(servingName, c, m, report)

	// Downloaded models go to an emptyDir: the root file system is
	// read-only.
	if dir := args["cache-dir"]; dir == "" {
		report("Deployment %s: no --cache-dir, and the root file system is read-only", servingName)
	} else if vol := mountedVolume(pod, c, dir); vol == nil || vol.EmptyDir == nil {
		report("Deployment %s: --cache-dir %s is not on an emptyDir volume", servingName, dir)
	}

	// Pods get to finish their requests before they are killed.
	shutdown := 30 * time.Second // nebras serve's default
	if v, ok := args["shutdown-timeout"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			report("Deployment %s: --shutdown-timeout %q: %v", servingName, v, err)
		}
		shutdown = d
	}
	if pre := c.Lifecycle.PreStop; pre != nil && pre.Sleep != nil {
		shutdown += time.Duration(pre.Sleep.Seconds) * time.Second
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= shutdown {
		report("Deployment %s: terminationGracePeriodSeconds must exceed preStop plus --shutdown-timeout (%v)", servingName, shutdown)
	}

	// The Service sends to the pods' named port.
	var svc service
	if _, err := m.decodeNamed("Service", servingName, &svc); err != nil {
		report("%v", err)
	} else {
		if !selects(svc.Spec.Selector, podLabels) {
			report("Service %s: selector %v does not select the serving pods %v", servingName, svc.Spec.Selector, podLabels)
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p struct {
			Name       string      `yaml:"name"`
			TargetPort intOrString `yaml:"targetPort"`
		}) bool {
			return p.Name == portName && matchesPort(p.TargetPort)
		}) {
			report("Service %s: no port named %s targeting the container's port", servingName, portName)
		}
	}

	// The PodDisruptionBudget keeps one pod, of at least two.
	var budget pdb
	if _, err := m.decodeNamed("PodDisruptionBudget", servingName, &budget); err != nil {
		report("%v", err)
	} else {
		if budget.Spec.MinAvailable == nil || *budget.Spec.MinAvailable != "1" {
			report("PodDisruptionBudget %s: want minAvailable 1", servingName)
		}
		if !selects(budget.Spec.Selector.MatchLabels, podLabels) {
			report("PodDisruptionBudget %s: selector %v does not select the serving pods %v", servingName, budget.Spec.Selector.MatchLabels, podLabels)
		}
	}

	// The autoscaler scales the Deployment on metrics the server exports.
	var as hpa
	if d, err := m.decodeNamed("HorizontalPodAutoscaler", servingName, &as); err != nil {
		report("%v", err)
	} else {
		ref := as.Spec.ScaleTargetRef
		if d.APIVersion != "autoscaling/v2" {
			report("HorizontalPodAutoscaler %s: apiVersion %s, want autoscaling/v2", servingName, d.APIVersion)
		}
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != servingName {
			report("HorizontalPodAutoscaler %s: targets %s %s %s, want apps/v1 Deployment %s", servingName, ref.APIVersion, ref.Kind, ref.Name, servingName)
		}
		if as.Spec.MinReplicas == nil || *as.Spec.MinReplicas < 2 || as.Spec.MaxReplicas < *as.Spec.MinReplicas {
			report("HorizontalPodAutoscaler %s: want minReplicas at least 2 (the budget keeps 1) and maxReplicas above it", servingName)
		}
		if len(as.Spec.Metrics) == 0 {
			report("HorizontalPodAutoscaler %s: no metrics", servingName)
		}
		for _, mt := range as.Spec.Metrics {
			if mt.Type != "Pods" || mt.Pods == nil {
				report("HorizontalPodAutoscaler %s: metric type %s, want Pods (from Prometheus through the adapter)", servingName, mt.Type)
				continue
			}
			name := mt.Pods.Metric.Name
			if !f.gauges[name] {
				report("HorizontalPodAutoscaler %s: the server exports no gauge %s", servingName, name)
			}
			if !slices.ContainsFunc(f.adapterSeries, func(q string) bool {
				return regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(q)
			}) {
				report("HorizontalPodAutoscaler %s: %s is in no prometheus-adapter rule of deploy/README.md %q", servingName, name, f.adapterSeries)
			}
			if mt.Pods.Target.Type != "AverageValue" || mt.Pods.Target.AverageValue == "" {
				report("HorizontalPodAutoscaler %s: %s: want an AverageValue target", servingName, mt.Pods.Metric.Name)
			}
		}
	}

	// The ServiceMonitor scrapes the Service's port on /metrics.
	var sm serviceMonitor
	if d, err := m.decodeNamed("ServiceMonitor", servingName, &sm); err != nil {
		report("%v", err)
	} else {
		if d.APIVersion != "monitoring.coreos.com/v1" {
			report("ServiceMonitor %s: apiVersion %s, want monitoring.coreos.com/v1", servingName, d.APIVersion)
		}
		svcDoc, _ := m.decodeNamed("Service", servingName, &service{})
		if !selects(sm.Spec.Selector.MatchLabels, svcDoc.Metadata.Labels) {
			report("ServiceMonitor %s: selector %v does not select the Service's labels %v", servingName, sm.Spec.Selector.MatchLabels, svcDoc.Metadata.Labels)
		}
		if len(sm.Spec.Endpoints) == 0 {
			report("ServiceMonitor %s: no endpoints", servingName)
		}
		for _, e := range sm.Spec.Endpoints {
			if e.Port != portName {
				report("ServiceMonitor %s: scrapes port %q, want the Service's %q", servingName, e.Port, portName)
			}
			if e.Path != "/metrics" || status(f.handler, e.Path) != http.StatusOK {
				report("ServiceMonitor %s: scrapes %q, want /metrics", servingName, e.Path)
			}
		}
	}
	return problems
}

// checkRetrain checks the retraining CronJob.
func checkRetrain(m *manifests, f *facts) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var cj cronJob
	if d, err := m.decodeNamed("CronJob", retrainName, &cj); err != nil {
		return []string{err.Error()}
	} else if d.APIVersion != "batch/v1" {
		report("CronJob %s: apiVersion %s, want batch/v1", retrainName, d.APIVersion)
	}
	if cj.Spec.ConcurrencyPolicy != "Forbid" {
		report("CronJob %s: concurrencyPolicy %q, want Forbid (one cycle at a time)", retrainName, cj.Spec.ConcurrencyPolicy)
	}
	if cj.Spec.Schedule == "" {
		report("CronJob %s: no schedule", retrainName)
	}
	job := cj.Spec.JobTemplate.Spec
	if job.BackoffLimit == nil {
		report("CronJob %s: no backoffLimit", retrainName)
	}
	pod := job.Template
	if p := pod.Spec.RestartPolicy; p != "Never" && p != "OnFailure" {
		report("CronJob %s: restartPolicy %q, want Never or OnFailure", retrainName, p)
	}
	if len(pod.Spec.Containers) != 1 {
		return append(problems, fmt.Sprintf("CronJob %s: want one container, have %d", retrainName, len(pod.Spec.Containers)))
	}
	c := pod.Spec.Containers[0]
	problems = append(problems, checkPod(retrainName, pod, f.train.uid, m)...)
	checkImage(retrainName, c.Image, f.train.name, report)
	checkEnv(retrainName, c, m, report)

	// The GPU node pool.
	if c.Resources.Limits["nvidia.com/gpu"] != "1" {
		report("CronJob %s: want resources.limits nvidia.com/gpu: 1", retrainName)
	}
	if len(pod.Spec.NodeSelector) == 0 {
		report("CronJob %s: no nodeSelector for the GPU node pool", retrainName)
	}
	if !slices.ContainsFunc(pod.Spec.Tolerations, func(t struct {
		Key    string `yaml:"key"`
		Effect string `yaml:"effect"`
	}) bool {
		return t.Key == "nvidia.com/gpu"
	}) {
		report("CronJob %s: no toleration for the nvidia.com/gpu taint", retrainName)
	}

	// The image's binary runs `nebras retrain --config FILE`, FILE coming
	// from a ConfigMap that holds a valid pipeline config.
	if len(c.Command) < 2 || c.Command[0] != f.train.binary || c.Command[1] != "retrain" {
		report("CronJob %s: command %v, want [%s retrain ...]", retrainName, c.Command, f.train.binary)
		return problems
	}
	args := flagArgs(c.Command[2:])
	for name := range args {
		if !f.runFlags[name] {
			report("CronJob %s: `nebras retrain` has no flag --%s", retrainName, name)
		}
	}
	config := args["config"]
	vol := mountedVolume(pod, c, config)
	if vol == nil || vol.ConfigMap == nil {
		report("CronJob %s: --config %q is not on a ConfigMap volume", retrainName, config)
	} else {
		var cm configMap
		key := path.Base(config)
		if d, err := m.decodeNamed("ConfigMap", vol.ConfigMap.Name, &cm); err != nil {
			report("CronJob %s: --config: %v", retrainName, err)
		} else if data, ok := cm.Data[key]; !ok {
			report("CronJob %s: --config %s: ConfigMap %s has no key %s", retrainName, config, vol.ConfigMap.Name, key)
		} else if _, err := orchestrate.ParseConfig([]byte(data), key); err != nil {
			// Errors name pipeline.yaml:LINE; say where that is in the
			// manifest: a block scalar's text starts on the line after
			// its key.
			msg := err.Error()
			if v := dataValue(d, key); v != nil && v.Style&yaml.LiteralStyle != 0 {
				msg = regexp.MustCompile(regexp.QuoteMeta(key)+`:(\d+):`).ReplaceAllStringFunc(msg, func(s string) string {
					n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(s, key+":"), ":"))
					return fmt.Sprintf("%s:%d:", d.file, v.Line+n)
				})
			}
			report("CronJob %s: --config %s (ConfigMap %s): %s", retrainName, config, vol.ConfigMap.Name, msg)
		}
	}

	// Data and state on a claim the manifests declare.
	var claims int
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		claims++
		if _, err := m.decodeNamed("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName, &struct{}{}); err != nil {
			report("CronJob %s: volume %s: %v", retrainName, v.Name, err)
		}
	}
	if claims == 0 {
		report("CronJob %s: no PersistentVolumeClaim for the tickets and the pipeline's state", retrainName)
	}
	return problems
}

// dataValue returns the node of data[key] in a ConfigMap's document.
func dataValue(d doc, key string) *yaml.Node {
	lookup := func(n *yaml.Node, k string) *yaml.Node {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				return n.Content[i+1]
			}
		}
		return nil
	}
	return lookup(lookup(d.node.Content[0], "data"), key)
}

// checkPod checks what every Nebras pod needs: non-root as the image's
// user, read-only, unprivileged, with resources.
func checkPod(name string, pod podTemplate, uid int64, m *manifests) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	psc := pod.Spec.SecurityContext
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		report("%s: pod securityContext.runAsNonRoot is not true", name)
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != uid {
		report("%s: pod securityContext.runAsUser %v, want the image's user %d", name, deref(psc.RunAsUser), uid)
	}
	if psc.SeccompProfile.Type != "RuntimeDefault" {
		report("%s: pod seccompProfile %q, want RuntimeDefault", name, psc.SeccompProfile.Type)
	}
	for _, c := range pod.Spec.Containers {
		sc := c.SecurityContext
		switch {
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			report("%s: container %s: readOnlyRootFilesystem is not true", name, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			report("%s: container %s: allowPrivilegeEscalation is not false", name, c.Name)
		case !slices.Contains(sc.Capabilities.Drop, "ALL"):
			report("%s: container %s: capabilities do not drop ALL", name, c.Name)
		case sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot:
			report("%s: container %s: runAsNonRoot false", name, c.Name)
		}
		for _, r := range []string{"cpu", "memory"} {
			if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
				report("%s: container %s: want %s requests and limits", name, c.Name, r)
			}
		}
		for _, vm := range c.VolumeMounts {
			if !slices.ContainsFunc(pod.Spec.Volumes, func(v volume) bool { return v.Name == vm.Name }) {
				report("%s: container %s mounts %s, which is no volume of the pod", name, c.Name, vm.Name)
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil {
			if _, err := m.decodeNamed("ConfigMap", v.ConfigMap.Name, &struct{}{}); err != nil {
				report("%s: volume %s: %v", name, v.Name, err)
			}
		}
	}
	return problems
}

// checkImage checks that a container runs the image a Dockerfile builds,
// with a tag, never latest.
func checkImage(name, img, want string, report func(string, ...any)) {
	repo, tag, ok := strings.Cut(img, ":")
	if repo != want || !ok || tag == "" || tag == "latest" {
		report("%s: image %s, want %s:TAG (a tag other than latest), the image ci/Dockerfile.* documents", name, img, want)
	}
}

// checkEnv checks that MLFLOW_TRACKING_URI comes from a ConfigMap key that
// exists, and every credential from an optional Secret key, never a value.
func checkEnv(name string, c container, m *manifests, report func(string, ...any)) {
	var uri bool
	for _, e := range c.Env {
		var from *keyRef
		if e.ValueFrom != nil {
			from = e.ValueFrom.ConfigMapKeyRef
		}
		if e.Name == "MLFLOW_TRACKING_URI" && from != nil {
			var cm configMap
			if _, err := m.decodeNamed("ConfigMap", from.Name, &cm); err != nil {
				report("%s: MLFLOW_TRACKING_URI: %v", name, err)
			} else if _, ok := cm.Data[from.Key]; !ok {
				report("%s: MLFLOW_TRACKING_URI: ConfigMap %s has no key %s", name, from.Name, from.Key)
			} else {
				uri = true
			}
		}
		if strings.Contains(e.Name, "TOKEN") || strings.Contains(e.Name, "PASSWORD") || strings.Contains(e.Name, "USERNAME") {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				report("%s: %s must come from a Secret (secretKeyRef)", name, e.Name)
			} else if o := e.ValueFrom.SecretKeyRef.Optional; o == nil || !*o {
				report("%s: %s: the secretKeyRef must be optional (a tracking server may need no credentials)", name, e.Name)
			}
		}
	}
	if !uri {
		report("%s: MLFLOW_TRACKING_URI does not come from a ConfigMap (configMapKeyRef)", name)
	}
}

// flagArgs reads --name value and --name=value arguments.
func flagArgs(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		name, ok := strings.CutPrefix(args[i], "--")
		if !ok {
			continue
		}
		if n, v, ok := strings.Cut(name, "="); ok {
			out[n] = v
		} else if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			out[name] = args[i+1]
			i++
		} else {
			out[name] = ""
		}
	}
	return out
}

// mountedVolume returns the pod's volume that file lies on in c.
func mountedVolume(pod podTemplate, c container, file string) *volume {
	best := ""
	var name string
	for _, vm := range c.VolumeMounts {
		if (file == vm.MountPath || strings.HasPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/")) && len(vm.MountPath) > len(best) {
			best, name = vm.MountPath, vm.Name
		}
	}
	for i, v := range pod.Spec.Volumes {
		if best != "" && v.Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// selects reports whether a non-empty selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// status is the code the server answers a GET of path with.
func status(h http.Handler, p string) int {
	u, err := url.Parse(p)
	if err != nil || !strings.HasPrefix(p, "/") {
		return http.StatusNotFound
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.String(), nil))
	return rec.Code
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// readFiles reads the directory's YAML files.
func readFiles(t *testing.T) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, name := range names {
		if files[name], err = os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := files["kustomization.yaml"]; !ok {
		t.Fatal("deploy/k8s has no kustomization.yaml")
	}
	return files
}

func TestManifests(t *testing.T) {
	f := loadFacts(t)
	m, err := parseManifests(readFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range check(m, f) {
		t.Error(p)
	}
	// The serving container runs what the image runs by default, give or
	// take tuning flags: the same --addr and registry model.
	var dep deployment
	if _, err := m.decodeNamed("Deployment", servingName, &dep); err != nil {
		t.Fatal(err)
	}
	got, want := flagArgs(dep.Spec.Template.Spec.Containers[0].Args), flagArgs(f.serve.cmd)
	for _, name := range []string{"addr", "registry-model"} {
		if got[name] != want[name] {
			t.Errorf("Deployment %s: --%s %q, but ci/Dockerfile.serve's CMD has %q", servingName, name, got[name], want[name])
		}
	}
}

// TestManifestChecksFail breaks the manifests one way at a time and
// expects the check that catches it.
func TestManifestChecksFail(t *testing.T) {
	f := loadFacts(t)
	tests := []struct {
		name, file, old, new string
		want                 string
	}{
		{"missing kind", "serving.yaml", "kind: PodDisruptionBudget\n", "", "want apiVersion, kind and metadata.name"},
		{"missing name", "configmap.yaml", "  name: nebras-config\n", "", "want apiVersion, kind and metadata.name"},
		{"unlisted file", "kustomization.yaml", "  - retrain.yaml\n", "", "kustomization.yaml lists"},
		{"listed file missing", "kustomization.yaml", "  - retrain.yaml\n", "  - retrain.yaml\n  - ingress.yaml\n", "kustomization.yaml lists"},
		{"kustomize image unknown", "kustomization.yaml", "name: ghcr.io/nebras-ai/nebras-train", "name: ghcr.io/nebras-ai/trainer", "is neither"},
		{"readiness route", "serving.yaml", "path: /readyz", "path: /ready", "readinessProbe on /ready, want /readyz"},
		{"liveness route", "serving.yaml", "              path: /healthz\n              port: http\n            periodSeconds: 10", "              path: /health\n              port: http\n            periodSeconds: 10", "which the server does not route"},
		{"startup route", "serving.yaml", "path: /healthz\n              port: http\n            periodSeconds: 5\n", "path: /livez\n              port: http\n            periodSeconds: 5\n", "startupProbe on /livez, which the server does not route"},
		{"no readiness probe", "serving.yaml", "readinessProbe:", "readinesProbe:", "no readinessProbe.httpGet"},
		{"probe port", "serving.yaml", "path: /readyz\n              port: http", "path: /readyz\n              port: 9090", "readinessProbe on port 9090"},
		{"container port", "serving.yaml", "containerPort: 8080", "containerPort: 8081", "containerPort 8081, but --addr listens on 8080"},
		{"addr", "serving.yaml", "- 0.0.0.0:8080", "- 0.0.0.0", "--addr \"0.0.0.0\": want HOST:PORT"},
		{"unknown serve flag", "serving.yaml", "- --cache-dir\n", "- --cache-directory\n", "`nebras serve` has no flag --cache-directory"},
		{"serve image", "serving.yaml", "ghcr.io/nebras-ai/nebras-serve:main", "ghcr.io/nebras-ai/nebras-server:main", "want ghcr.io/nebras-ai/nebras-serve:TAG"},
		{"latest tag", "serving.yaml", "nebras-serve:main", "nebras-serve:latest", "a tag other than latest"},
		{"train image", "retrain.yaml", "ghcr.io/nebras-ai/nebras-train:main", "ghcr.io/nebras-ai/nebras-serve:main", "want ghcr.io/nebras-ai/nebras-train:TAG"},
		{"serve user", "serving.yaml", "runAsUser: 65532", "runAsUser: 1000", "runAsUser 1000, want the image's user 65532"},
		{"non-root", "serving.yaml", "        runAsNonRoot: true\n        runAsUser: 65532", "        runAsNonRoot: false\n        runAsUser: 65532", "runAsNonRoot is not true"},
		{"read-only root", "serving.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"},
		{"privilege escalation", "retrain.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation is not false"},
		{"capabilities", "serving.yaml", `drop: ["ALL"]`, `drop: ["NET_RAW"]`, "do not drop ALL"},
		{"seccomp", "retrain.yaml", "type: RuntimeDefault", "type: Unconfined", "seccompProfile \"Unconfined\""},
		{"resources", "serving.yaml", "              memory: 4Gi\n", "", "want memory requests and limits"},
		{"tracking uri literal", "serving.yaml", "            - name: MLFLOW_TRACKING_URI\n              valueFrom:\n                configMapKeyRef:\n                  name: nebras-config\n                  key: MLFLOW_TRACKING_URI", "            - name: MLFLOW_TRACKING_URI\n              value: http://mlflow:5000", "MLFLOW_TRACKING_URI does not come from a ConfigMap"},
		{"tracking uri key", "configmap.yaml", "  MLFLOW_TRACKING_URI: http", "  TRACKING_URI: http", "ConfigMap nebras-config has no key MLFLOW_TRACKING_URI"},
		{"secret not optional", "serving.yaml", "key: token\n                  optional: true", "key: token\n                  optional: false", "MLFLOW_TRACKING_TOKEN: the secretKeyRef must be optional"},
		{"secret as value", "retrain.yaml", "                - name: HF_TOKEN\n                  valueFrom:\n                    secretKeyRef:\n                      name: nebras-hf\n                      key: token\n                      optional: true", "                - name: HF_TOKEN\n                  value: hf_abc", "HF_TOKEN must come from a Secret"},
		{"cache dir not mounted", "serving.yaml", "mountPath: /var/cache/nebras", "mountPath: /var/cache/models", "--cache-dir /var/cache/nebras is not on an emptyDir volume"},
		{"grace period", "serving.yaml", "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds must exceed"},
		{"shutdown timeout", "serving.yaml", "- --shutdown-timeout\n            - 30s", "- --shutdown-timeout\n            - 90s", "terminationGracePeriodSeconds must exceed"},
		{"service selector", "serving.yaml", "spec:\n  type: ClusterIP\n  selector:\n    app.kubernetes.io/name: nebras\n    app.kubernetes.io/component: serving", "spec:\n  type: ClusterIP\n  selector:\n    app.kubernetes.io/name: nebras\n    app.kubernetes.io/component: api", "Service nebras-serving: selector"},
		{"service target port", "serving.yaml", "targetPort: http", "targetPort: 9090", "no port named http targeting"},
		{"pdb minAvailable", "serving.yaml", "minAvailable: 1", "minAvailable: 0", "want minAvailable 1"},
		{"pdb selector", "serving.yaml", "  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nebras\n      app.kubernetes.io/component: serving", "  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nebras\n      app.kubernetes.io/component: retrain", "PodDisruptionBudget nebras-serving: selector"},
		{"hpa target", "serving.yaml", "    kind: Deployment\n    name: nebras-serving", "    kind: Deployment\n    name: nebras-server", "targets apps/v1 Deployment nebras-server"},
		{"hpa api", "serving.yaml", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v1", "want autoscaling/v2"},
		{"hpa metric", "serving.yaml", "name: nebras_scheduler_queue_depth", "name: nebras_queue_depth", "the server exports no gauge nebras_queue_depth"},
		{"hpa counter", "serving.yaml", "name: nebras_http_requests_in_flight", "name: nebras_http_requests_total", "no gauge nebras_http_requests_total"},
		{"hpa metric without adapter rule", "serving.yaml", "name: nebras_http_requests_in_flight", "name: nebras_scheduler_active_sequences", "nebras_scheduler_active_sequences is in no prometheus-adapter rule"},
		{"hpa min replicas", "serving.yaml", "minReplicas: 2", "minReplicas: 1", "want minReplicas at least 2"},
		{"servicemonitor selector", "serving.yaml", "spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nebras\n      app.kubernetes.io/component: serving\n  endpoints:", "spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: mlflow\n  endpoints:", "ServiceMonitor nebras-serving: selector"},
		{"servicemonitor port", "serving.yaml", "    - port: http\n      path: /metrics", "    - port: metrics\n      path: /metrics", "scrapes port \"metrics\""},
		{"servicemonitor path", "serving.yaml", "path: /metrics", "path: /prometheus", "scrapes \"/prometheus\""},
		{"cron concurrency", "retrain.yaml", "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow", "want Forbid"},
		{"cron backoff", "retrain.yaml", "      backoffLimit: 1\n", "", "no backoffLimit"},
		{"cron gpu", "retrain.yaml", "                limits:\n                  cpu: \"8\"\n                  memory: 32Gi\n                  nvidia.com/gpu: 1", "                limits:\n                  cpu: \"8\"\n                  memory: 32Gi", "nvidia.com/gpu: 1"},
		{"cron toleration", "retrain.yaml", "- key: nvidia.com/gpu", "- key: gpu", "no toleration for the nvidia.com/gpu taint"},
		{"cron command", "retrain.yaml", `command: ["/usr/local/bin/nebras", "retrain"`, `command: ["nebras", "retrain"`, "want [/usr/local/bin/nebras retrain ...]"},
		{"cron retrain flag", "retrain.yaml", `"--config", "/etc/nebras/pipeline.yaml"`, `"--pipeline", "/etc/nebras/pipeline.yaml"`, "`nebras retrain` has no flag --pipeline"},
		{"cron config key", "retrain.yaml", "/etc/nebras/pipeline.yaml", "/etc/nebras/config.yaml", "has no key config.yaml"},
		{"cron config mount", "retrain.yaml", "mountPath: /etc/nebras", "mountPath: /etc/nebras-config", "is not on a ConfigMap volume"},
		{"pipeline config invalid", "configmap.yaml", "      lora_rank: 8", "      lora_rank: eight", "configmap.yaml:49: train.lora_rank: want a whole number"},
		{"pipeline config unknown field", "configmap.yaml", "      max_examples: 500", "      max_exemples: 500", "configmap.yaml:58: eval.max_exemples: unknown field"},
		{"cron pvc", "retrain.yaml", "claimName: nebras-retrain", "claimName: nebras-data", "no PersistentVolumeClaim nebras-data"},
		{"cron config map missing", "retrain.yaml", "name: nebras-pipeline", "name: nebras-pipelines", "no ConfigMap nebras-pipelines"},
		{"volume mount missing", "retrain.yaml", "            - name: tmp\n              emptyDir:", "            - name: scratch\n              emptyDir:", "mounts tmp, which is no volume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := readFiles(t)
			if !bytes.Contains(files[tt.file], []byte(tt.old)) {
				t.Fatalf("%s does not contain %q: update the test", tt.file, tt.old)
			}
			files[tt.file] = bytes.Replace(files[tt.file], []byte(tt.old), []byte(tt.new), 1)
			m, err := parseManifests(files)
			if err != nil {
				t.Fatalf("the broken copy does not parse: %v", err)
			}
			problems := check(m, f)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("want a problem containing %q, got %q", tt.want, problems)
			}
		})
	}

	// A document that is not YAML fails to parse.
	files := readFiles(t)
	files["serving.yaml"] = append(files["serving.yaml"], "---\nkind: [\n"...)
	if _, err := parseManifests(files); err == nil {
		t.Error("a broken YAML document parsed")
	}
}
