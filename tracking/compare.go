package tracking

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Comparison lays several runs side by side: what `nebras runs compare`
// prints. Every per-run slice is indexed like Runs.
type Comparison struct {
	Runs     []*Run
	Params   []ParamRow
	Metrics  []MetricRow
	Datasets [][]string // per run: "name@digest (context)"
	Versions [][]string // per run: "model v3 @production"
}

// ParamRow is one param across the compared runs; Present[i] is false
// where run i did not log it.
type ParamRow struct {
	Key     string
	Values  []string
	Present []bool
	Differs bool
}

// MetricRow is one metric across the compared runs: its latest value and
// its best value over the whole history, where best is the minimum for
// metrics that fall as they improve (LowerIsBetter) and the maximum
// otherwise.
type MetricRow struct {
	Key           string
	LowerIsBetter bool
	Present       []bool
	Final         []float64
	Best          []float64
	BestStep      []int64
}

// LowerIsBetter guesses a metric's direction from its name: losses,
// perplexities and error rates fall as a model improves; anything else
// (BLEU, ROUGE, accuracy, throughput) rises.
func LowerIsBetter(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"loss", "perplexity", "ppl", "error", "err_", "_err", "wer", "cer", "latency", "time", "seconds"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// CompareRuns fetches runs and builds their Comparison: every param (with
// Differs set where values are not all equal), every metric's final and
// best values from its history, the datasets each run used, and the model
// versions registered from each run with their aliases.
func CompareRuns(ctx context.Context, s Store, runIDs []string) (*Comparison, error) {
	if len(runIDs) == 0 {
		return nil, fmt.Errorf("compare: no runs given")
	}
	c := &Comparison{}
	for _, id := range runIDs {
		r, err := s.GetRun(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", id, err)
		}
		c.Runs = append(c.Runs, r)
	}
	n := len(c.Runs)

	var paramKeys, metricKeys []string
	for _, r := range c.Runs {
		for _, p := range r.Data.Params {
			paramKeys = append(paramKeys, p.Key)
		}
		for _, m := range r.Data.Metrics {
			metricKeys = append(metricKeys, m.Key)
		}
	}
	slices.Sort(paramKeys)
	slices.Sort(metricKeys)
	for _, k := range slices.Compact(paramKeys) {
		row := ParamRow{Key: k, Values: make([]string, n), Present: make([]bool, n)}
		for i, r := range c.Runs {
			row.Values[i], row.Present[i] = r.Param(k)
			if i > 0 && (row.Values[i] != row.Values[0] || row.Present[i] != row.Present[0]) {
				row.Differs = true
			}
		}
		c.Params = append(c.Params, row)
	}
	for _, k := range slices.Compact(metricKeys) {
		row := MetricRow{
			Key: k, LowerIsBetter: LowerIsBetter(k),
			Present: make([]bool, n), Final: make([]float64, n), Best: make([]float64, n), BestStep: make([]int64, n),
		}
		for i, r := range c.Runs {
			last, ok := r.Metric(k)
			if !ok {
				continue
			}
			hist, err := s.GetMetricHistory(ctx, r.Info.RunID, k)
			if err != nil {
				return nil, fmt.Errorf("run %s metric %s: %w", r.Info.RunID, k, err)
			}
			row.Present[i], row.Final[i] = true, last.Value
			row.Best[i], row.BestStep[i] = best(hist, row.LowerIsBetter, last)
		}
		c.Metrics = append(c.Metrics, row)
	}

	c.Datasets = make([][]string, n)
	c.Versions = make([][]string, n)
	for i, r := range c.Runs {
		for _, in := range r.Inputs {
			d := in.Dataset.Name + "@" + in.Dataset.Digest
			for _, t := range in.Tags {
				if t.Key == "mlflow.data.context" && t.Value != "" {
					d += " (" + t.Value + ")"
				}
			}
			c.Datasets[i] = append(c.Datasets[i], d)
		}
		page, err := s.SearchModelVersions(ctx, SearchModelVersionsRequest{Filter: fmt.Sprintf("run_id = '%s'", r.Info.RunID)})
		if err != nil {
			return nil, fmt.Errorf("model versions of run %s: %w", r.Info.RunID, err)
		}
		for _, mv := range page.ModelVersions {
			v := fmt.Sprintf("%s v%s", mv.Name, mv.Version)
			for _, a := range mv.Aliases {
				v += " @" + a
			}
			if mv.CurrentStage != "" && mv.CurrentStage != StageNone {
				v += " [" + mv.CurrentStage + "]"
			}
			c.Versions[i] = append(c.Versions[i], v)
		}
	}
	return c, nil
}

// best is the best finite value of a history, and its step; NaN and
// infinities never win. With no finite value it is the latest one.
func best(hist []Metric, lower bool, last Metric) (float64, int64) {
	v, step, found := last.Value, last.Step, false
	for _, m := range hist {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			continue
		}
		if !found || (lower && m.Value < v) || (!lower && m.Value > v) {
			v, step, found = m.Value, m.Step, true
		}
	}
	return v, step
}
