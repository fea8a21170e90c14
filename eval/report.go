package eval

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
)

// lowerIsBetter reports the metrics that improve as they fall.
func lowerIsBetter(name string) bool {
	return name == "perplexity" || name == "empty_share" || name == "max_tokens_share"
}

// metricOrder is the order of the report's metric table.
func metricOrder() []string {
	return []string{"rougeL", "rouge1", "rouge2", "rougeLsum", "bleu", "perplexity", "distinct1", "distinct2", "avg_reply_tokens", "empty_share", "max_tokens_share", "perplexity_tokens"}
}

type metricRow struct {
	Name                 string
	Candidate, Baseline  string
	Delta                string
	Better, Worse, Bold  bool
	CandBar, BaseBar     float64 // bar widths in pixels, 0..chartWidth
	HasBaseline, Charted bool
}

type exampleView struct {
	ExampleResult
	Context string
	Diff    float64
}

type reportData struct {
	*Result
	Rows       []metricRow
	Chart      []metricRow
	ChartH     int
	Examples   []exampleView
	ExampleTag string
	Generated  string
}

// Report renders report.html: the decision, the metric table candidate
// vs baseline with deltas and a bar chart, every gate rule's outcome, and
// the 20 examples where the two systems differ most (by ROUGE-L), with
// context, reference and both replies. The page is self-contained: no
// scripts, no external assets.
func Report(res *Result) ([]byte, error) {
	d := reportData{Result: res, Generated: res.Created.Format("2006-01-02 15:04 MST")}
	for _, name := range metricOrder() {
		c, ok := res.Candidate.Metrics[name]
		if !ok {
			continue
		}
		row := metricRow{Name: name, Candidate: fmtMetric(name, c), Bold: name == "rougeL"}
		if res.Baseline != nil {
			if b, ok := res.Baseline.Metrics[name]; ok {
				row.HasBaseline, row.Baseline = true, fmtMetric(name, b)
				delta := c - b
				row.Delta = fmt.Sprintf("%+.4g", delta)
				if b != 0 && name != "perplexity_tokens" {
					row.Delta += fmt.Sprintf(" (%+.1f%%)", 100*delta/math.Abs(b))
				}
				good := delta > 0
				if lowerIsBetter(name) {
					good = delta < 0
				}
				// Length and token counts are neither better nor worse.
				if name != "avg_reply_tokens" && name != "perplexity_tokens" {
					row.Better, row.Worse = good && delta != 0, !good && delta != 0
				}
				if strings.HasPrefix(name, "rouge") || name == "bleu" {
					scale := 1.0
					if name == "bleu" {
						scale = 100
					}
					row.Charted, row.CandBar, row.BaseBar = true, chartWidth*clamp01(c/scale), chartWidth*clamp01(b/scale)
				}
			}
		} else if strings.HasPrefix(name, "rouge") || name == "bleu" {
			scale := 1.0
			if name == "bleu" {
				scale = 100
			}
			row.Charted, row.CandBar = true, chartWidth*clamp01(c/scale)
		}
		d.Rows = append(d.Rows, row)
		if row.Charted {
			d.Chart = append(d.Chart, row)
		}
	}
	d.ChartH = 24 * len(d.Chart)
	d.Examples, d.ExampleTag = pickExamples(res.PerExample, res.Baseline != nil, 20)
	var buf bytes.Buffer
	if err := reportTmpl.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("report.html: %w", err)
	}
	return buf.Bytes(), nil
}

// pickExamples returns the n examples where the systems differ most by
// ROUGE-L, or without a baseline the candidate's n worst.
func pickExamples(all []ExampleResult, withBaseline bool, n int) ([]exampleView, string) {
	views := make([]exampleView, len(all))
	for i, e := range all {
		v := exampleView{ExampleResult: e, Context: lastChars(e.Context, 1200)}
		if withBaseline {
			v.Diff = math.Abs(e.CandidateROUGE - e.BaselineROUGE)
		} else {
			v.Diff = 1 - e.CandidateROUGE
		}
		views[i] = v
	}
	sort.SliceStable(views, func(i, j int) bool { return views[i].Diff > views[j].Diff })
	if len(views) > n {
		views = views[:n]
	}
	if withBaseline {
		return views, fmt.Sprintf("The %d examples where candidate and baseline differ most (ROUGE-L)", len(views))
	}
	return views, fmt.Sprintf("The candidate's %d lowest-scoring examples (ROUGE-L)", len(views))
}

func lastChars(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n:])
}

const chartWidth = 520

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func fmtMetric(name string, v float64) string {
	switch name {
	case "bleu", "perplexity", "avg_reply_tokens":
		return fmt.Sprintf("%.2f", v)
	case "perplexity_tokens":
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"mul": func(a, b int) int { return a * b },
	"f4":  func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"fptr": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.4g", *v)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Evaluation: {{.Candidate.Ref}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.banner{padding:.8em 1em;border-radius:6px;font-weight:600;font-size:1.1em}
.ok{background:#e3f5e1;color:#1b5e20}.no{background:#fdecea;color:#8e1c13}
.better{color:#1b5e20}.worse{color:#8e1c13}.muted{color:#777}
.ex{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em;border-radius:4px;margin:.3em 0}
.lbl{font-weight:600;font-size:.9em;color:#555}
</style></head><body>
<h1>Evaluation of {{.Candidate.Ref}}{{if .Candidate.Version}} (version {{.Candidate.Version}}){{end}}</h1>
<p class="muted">{{.Generated}} · {{.Examples}} {{.Split}} examples of {{index .Dataset "path"}} (digest {{index .Dataset "digest"}}){{if .EvalRunID}} · MLflow run {{.EvalRunID}} in {{.Tracking}}{{end}}</p>
{{if .Blessed}}<div class="banner ok">Blessed: the candidate may be promoted. {{.Gate.Summary}}</div>
{{else}}<div class="banner no">Not blessed: the candidate must not be promoted. {{.Gate.Summary}}</div>{{end}}
{{range .Notes}}<p>{{.}}</p>{{end}}

<h2>Metrics</h2>
<table><tr><th>metric</th><th>candidate</th><th>baseline{{if .Baseline}}: {{.Baseline.Ref}}{{end}}</th><th>change</th></tr>
{{range .Rows}}<tr><td>{{if .Bold}}<b>{{.Name}}</b>{{else}}{{.Name}}{{end}}</td><td class="n">{{.Candidate}}</td><td class="n">{{if .HasBaseline}}{{.Baseline}}{{else}}–{{end}}</td>
<td class="n {{if .Better}}better{{else if .Worse}}worse{{end}}">{{.Delta}}</td></tr>
{{end}}</table>
<p class="muted">ROUGE: F-measures as rouge-score computes them, averaged over examples; BLEU: corpus BLEU as sacreBLEU computes it (13a, exp smoothing);
perplexity over the reply tokens of the {{.Split}} split. Generation: {{range $k, $v := .Decoding}}{{$k}}={{$v}} {{end}}</p>

{{if .Chart}}<svg width="640" height="{{.ChartH}}" viewBox="0 0 640 {{.ChartH}}" role="img" aria-label="ROUGE and BLEU, candidate vs baseline">
{{range $i, $r := .Chart}}<g transform="translate(0,{{mul $i 24}})">
<text x="0" y="14" font-size="12">{{$r.Name}}{{if eq $r.Name "bleu"}}/100{{end}}</text>
<rect x="100" y="2" height="9" width="{{f1 $r.CandBar}}" fill="#1565c0"><title>candidate {{$r.Candidate}}</title></rect>
{{if $r.HasBaseline}}<rect x="100" y="12" height="9" width="{{f1 $r.BaseBar}}" fill="#9e9e9e"><title>baseline {{$r.Baseline}}</title></rect>{{end}}
</g>{{end}}</svg>
<p class="muted"><span style="color:#1565c0">■</span> candidate {{if .Baseline}}<span style="color:#9e9e9e">■</span> baseline{{end}} (bars run from 0 to 1)</p>{{end}}

<h2>Gate</h2>
{{if not .Gate.HasBaseline}}<p>No baseline: the change rules were skipped, only the value rules applied.</p>{{end}}
<table><tr><th>rule</th><th>candidate</th><th>baseline</th><th>outcome</th></tr>
{{range .Gate.Results}}<tr><td>{{.Metric}}</td><td class="n">{{f4 .Candidate}}</td><td class="n">{{fptr .Baseline}}</td>
<td class="{{if .Skipped}}muted{{else if .Passed}}better{{else}}worse{{end}}">{{if .Skipped}}skipped{{else if .Passed}}pass{{else}}fail{{end}}: {{.Reason}}</td></tr>
{{end}}</table>

<h2>{{.ExampleTag}}</h2>
{{range .Examples}}<div class="ex"><div class="muted">{{.ExampleID}} · candidate ROUGE-L {{f4 .CandidateROUGE}}{{if $.Baseline}} · baseline ROUGE-L {{f4 .BaselineROUGE}}{{end}}</div>
<div class="lbl">Conversation</div><pre>{{.Context}}</pre>
<div class="lbl">Agent's real reply</div><pre>{{.Reference}}</pre>
<div class="lbl">Candidate</div><pre>{{.Candidate}}</pre>
{{if $.Baseline}}<div class="lbl">Baseline</div><pre>{{.Baseline}}</pre>{{end}}
</div>{{end}}
</body></html>
`))
