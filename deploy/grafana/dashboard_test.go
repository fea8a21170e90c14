// Package grafana holds the Grafana dashboards for Nebras' server. Its test
// checks them against the metrics the server really registers, so that a
// renamed metric or label breaks the build instead of a panel.
package grafana

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nebras-ai/nebras/serving"
	"github.com/nebras-ai/nebras/serving/batcher"
)

const dashboardFile = "nebras-serving.json"

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		Datasource *datasource `json:"datasource"`
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
	} `json:"targets"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatalf("reading the dashboard: %v", err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d
}

func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title != "Nebras serving" {
		t.Errorf("uid %q, title %q; want a uid and the title \"Nebras serving\"", d.UID, d.Title)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want 36 or later (data source references by uid)", d.SchemaVersion)
	}
	var hasDatasource bool
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"` {
			hasDatasource = true
		}
	}
	if !hasDatasource {
		t.Error(`the dashboard lacks the "datasource" template variable over Prometheus data sources`)
	}

	ids := map[int]string{}
	var placed []panel
	for _, p := range d.Panels {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %q: gridPos %+v is off the 24-column grid", p.Title, g)
		}
		for _, q := range placed {
			a, b := p.GridPos, q.GridPos
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				t.Errorf("panels %q and %q overlap", p.Title, q.Title)
			}
		}
		placed = append(placed, p)
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, q := range p.Targets {
			if q.Datasource == nil || q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q query %s: datasource %+v, want the ${datasource} variable", p.Title, q.RefID, q.Datasource)
			}
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q query %s has no expression", p.Title, q.RefID)
			}
		}
	}
}

// recorder registers collectors on a registry and keeps their descriptions.
type recorder struct {
	prometheus.Registerer
	descs []*prometheus.Desc
}

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		r.descs = append(r.descs, d)
	}
	return r.Registerer.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

type fakeBackend struct{}

func (fakeBackend) Submit(context.Context, batcher.Request) (*batcher.Stream, error) {
	return nil, batcher.ErrNoModel
}
func (fakeBackend) Model() (batcher.ModelInfo, bool) { return batcher.ModelInfo{}, false }
func (fakeBackend) Stats() batcher.Stats             { return batcher.Stats{} }

var (
	descName   = regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*")`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^{}]*)\}\}$`)
)

// serverMetrics returns the label names of every metric the server
// registers, by metric name, and the type of each metric it exposes.
func serverMetrics(t *testing.T) (labels map[string][]string, types map[string]dto.MetricType) {
	t.Helper()
	reg := prometheus.NewRegistry()
	rec := &recorder{Registerer: reg}
	m, err := serving.NewMetrics(rec, fakeBackend{}.Stats)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	labels = map[string][]string{}
	for _, d := range rec.descs {
		s := d.String()
		nm, lm := descName.FindStringSubmatch(s), descLabels.FindStringSubmatch(s)
		if nm == nil || lm == nil {
			t.Fatalf("cannot read the metric description %s", s)
		}
		name, err := strconv.Unquote(nm[1])
		if err != nil {
			t.Fatalf("metric name in %s: %v", s, err)
		}
		labels[name] = nil
		if lm[1] != "" {
			labels[name] = strings.Split(lm[1], ",")
		}
	}

	// A request puts a series in the HTTP vectors, so that every histogram
	// shows its type when gathered.
	srv, err := serving.New(fakeBackend{}, serving.Options{Registry: reg, Metrics: m})
	if err != nil {
		t.Fatalf("serving.New: %v", err)
	}
	srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/models", nil))
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	types = map[string]dto.MetricType{}
	for _, f := range families {
		types[f.GetName()] = f.GetType()
	}
	return labels, types
}

var (
	metricRef = regexp.MustCompile(`\b((?:nebras|go|process)_[a-z0-9_]+)(\{[^}]*\})?`)
	matcher   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping  = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	quoted    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// Labels Prometheus adds to every series it scrapes.
var targetLabels = []string{"job", "instance"}

func TestDashboardUsesServerMetrics(t *testing.T) {
	d := loadDashboard(t)
	labels, types := serverMetrics(t)

	var exprs []string
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Fatalf("variable %s: query %s: %v", v.Name, v.Query, err)
			}
			exprs = append(exprs, q.Query)
		}
	}

	used := map[string]bool{}
	for _, expr := range exprs {
		var inExpr []string // labels the expression's metrics carry
		for _, ref := range metricRef.FindAllStringSubmatch(expr, -1) {
			name, series := ref[1], ref[1]
			have := append(slices.Clone(targetLabels), labels[name]...)
			if _, ok := labels[name]; !ok {
				base, suffix := cutSeriesSuffix(name)
				typ, known := types[base]
				switch {
				case suffix == "":
					t.Errorf("%s: the server registers no metric %s", expr, name)
					continue
				case !known:
					t.Errorf("%s: the server registers no histogram or summary %s", expr, base)
					continue
				case typ != dto.MetricType_HISTOGRAM && !(typ == dto.MetricType_SUMMARY && suffix != "_bucket"):
					t.Errorf("%s: %s is a %s, which has no %s series", expr, base, typ, suffix)
					continue
				}
				name = base
				have = append(slices.Clone(targetLabels), labels[base]...)
				if suffix == "_bucket" {
					have = append(have, "le")
				}
			}
			used[name] = true
			inExpr = append(inExpr, have...)
			for _, m := range matcher.FindAllStringSubmatch(quoted.ReplaceAllString(ref[2], `""`), -1) {
				if !slices.Contains(have, m[1]) {
					t.Errorf("%s: %s has no label %s (it has %v)", expr, series, m[1], have)
				}
			}
		}
		for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !slices.Contains(inExpr, l) {
					t.Errorf("%s: groups by %s, which none of its metrics has", expr, l)
				}
			}
		}
	}

	// Every metric of the server's own shows on the dashboard, so that a
	// new metric comes with its panel.
	for name := range labels {
		if strings.HasPrefix(name, "nebras_") && !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

// cutSeriesSuffix splits a histogram's or summary's series suffix off name.
func cutSeriesSuffix(name string) (base, suffix string) {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, s); ok {
			return b, s
		}
	}
	return name, ""
}
