package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/plot"
)

// trackingFlags are the flags of every command that talks to MLflow. They
// override MLflow's environment variables.
type trackingFlags struct {
	uri        string
	experiment string
}

func (f *trackingFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.uri, "tracking-uri", "", "MLflow tracking URI: http(s)://server, file:///path or a path (default $MLFLOW_TRACKING_URI, else ./mlruns)")
	fs.StringVar(&f.experiment, "experiment", "", "experiment name (default $MLFLOW_EXPERIMENT_NAME, else \""+tracking.DefaultExperimentName+"\")")
}

// open returns the store the flags and environment select, and the
// experiment name to use.
func (f *trackingFlags) open() (tracking.Store, string, error) {
	cfg, err := tracking.ConfigFromEnv()
	if err != nil {
		return nil, "", usageError{err}
	}
	if f.uri != "" {
		cfg.TrackingURI = f.uri
	}
	exp := f.experiment
	if exp == "" {
		exp = cfg.Experiment
	}
	if exp == "" {
		exp = tracking.DefaultExperimentName
	}
	s, err := tracking.Open(cfg)
	if err != nil {
		return nil, "", err
	}
	return s, exp, nil
}

func (a *app) runsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List, compare and plot MLflow runs; replay runs logged while the server was down",
	}
	cmd.AddCommand(a.runsListCmd(), a.runsCompareCmd(), a.runsPlotCmd(), a.runsSyncCmd())
	return cmd
}

func (a *app) runsListCmd() *cobra.Command {
	var (
		tf      trackingFlags
		filter  string
		orderBy []string
		max     int
		all     bool
		asJSON  bool
		metrics []string
	)
	cmd := &cobra.Command{
		Use:   "list [--experiment NAME] [--filter EXPR] [--order-by EXPR]...",
		Short: "List the runs of an experiment, filtered and ordered with MLflow's search syntax",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if max < 1 {
				return usageError{fmt.Errorf("--max %d: want at least 1", max)}
			}
			s, expName, err := tf.open()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			exp, err := s.GetExperimentByName(ctx, expName)
			if err != nil {
				if errors.Is(err, tracking.ErrNotFound) {
					return fmt.Errorf("experiment %q not found in %s", expName, s.URI())
				}
				return err
			}
			req := tracking.SearchRunsRequest{
				ExperimentIDs: []string{exp.ID}, Filter: filter, OrderBy: orderBy,
				MaxResults: min(max, 1000),
			}
			if all {
				req.ViewType = tracking.AllRuns
			}
			var runs []*tracking.Run
			for len(runs) < max {
				page, err := s.SearchRuns(ctx, req)
				if err != nil {
					return err
				}
				runs = append(runs, page.Runs...)
				if page.NextPageToken == "" {
					break
				}
				req.PageToken = page.NextPageToken
			}
			if len(runs) > max {
				runs = runs[:max]
			}
			if asJSON {
				return writeRunsJSON(a.stdout, runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(a.stdout, "no runs in experiment %q match\n", expName)
				return nil
			}
			return writeRunsTable(a.stdout, runs, listMetricKeys(runs, metrics, filter, orderBy))
		},
	}
	tf.register(cmd.Flags())
	cmd.Flags().StringVar(&filter, "filter", "", `MLflow search filter, e.g. "metrics.val_loss < 2 and params.lora_rank = '8'"`)
	cmd.Flags().StringArrayVar(&orderBy, "order-by", nil, `order, e.g. "metrics.val_loss ASC" (repeatable; default newest first)`)
	cmd.Flags().IntVar(&max, "max", 100, "list at most this many runs")
	cmd.Flags().BoolVar(&all, "all", false, "include deleted runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().StringSliceVar(&metrics, "metrics", nil, "metric columns to show (default: those in --filter/--order-by, then up to 4 more)")
	return cmd
}

// listMetricKeys picks the metric columns of `runs list`: those asked
// for, else those the filter and order mention, then the most common
// others up to four columns.
func listMetricKeys(runs []*tracking.Run, asked []string, filter string, orderBy []string) []string {
	if len(asked) > 0 {
		return asked
	}
	count := map[string]int{}
	for _, r := range runs {
		for _, m := range r.Data.Metrics {
			count[m.Key]++
		}
	}
	var keys []string
	mentioned := filter + " " + strings.Join(orderBy, " ")
	for k := range count {
		if strings.Contains(mentioned, "metrics."+k) || strings.Contains(mentioned, "metric."+k) || strings.Contains(mentioned, "`"+k+"`") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var rest []string
	for k := range count {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(rest, func(x, y string) int {
		if count[x] != count[y] {
			return count[y] - count[x]
		}
		return strings.Compare(x, y)
	})
	for _, k := range rest {
		if len(keys) >= 4 {
			break
		}
		keys = append(keys, k)
	}
	return keys
}

func writeRunsTable(w io.Writer, runs []*tracking.Run, metricKeys []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "RUN ID\tNAME\tSTATUS\tSTARTED\tDURATION")
	for _, k := range metricKeys {
		fmt.Fprintf(tw, "\t%s", k)
	}
	fmt.Fprintln(tw)
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s", r.Info.RunID, orDash(r.Info.RunName), r.Info.Status,
			formatTime(r.Info.StartTime), formatDuration(r.Info))
		for _, k := range metricKeys {
			if m, ok := r.Metric(k); ok {
				fmt.Fprintf(tw, "\t%s", formatValue(m.Value))
			} else {
				fmt.Fprint(tw, "\t-")
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

type runJSON struct {
	RunID        string             `json:"run_id"`
	RunName      string             `json:"run_name"`
	ExperimentID string             `json:"experiment_id"`
	Status       string             `json:"status"`
	StartTime    int64              `json:"start_time"`
	EndTime      int64              `json:"end_time,omitempty"`
	Params       map[string]string  `json:"params"`
	Metrics      map[string]float64 `json:"metrics"`
	Tags         map[string]string  `json:"tags"`
}

func writeRunsJSON(w io.Writer, runs []*tracking.Run) error {
	out := make([]runJSON, 0, len(runs))
	for _, r := range runs {
		j := runJSON{
			RunID: r.Info.RunID, RunName: r.Info.RunName, ExperimentID: r.Info.ExperimentID,
			Status: string(r.Info.Status), StartTime: r.Info.StartTime, EndTime: r.Info.EndTime,
			Params: map[string]string{}, Metrics: map[string]float64{}, Tags: map[string]string{},
		}
		for _, p := range r.Data.Params {
			j.Params[p.Key] = p.Value
		}
		for _, m := range r.Data.Metrics {
			if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) { // JSON has no NaN
				j.Metrics[m.Key] = m.Value
			}
		}
		for _, t := range r.Data.Tags {
			j.Tags[t.Key] = t.Value
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func (a *app) runsCompareCmd() *cobra.Command {
	var (
		tf        trackingFlags
		allParams bool
	)
	cmd := &cobra.Command{
		Use:   "compare RUN_ID RUN_ID...",
		Short: "Show runs side by side: differing params, final and best metrics, datasets, registered versions",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := tf.open()
			if err != nil {
				return err
			}
			defer s.Close()
			c, err := tracking.CompareRuns(cmd.Context(), s, args)
			if err != nil {
				return err
			}
			return writeComparison(a.stdout, c, allParams)
		},
	}
	tf.register(cmd.Flags())
	cmd.Flags().BoolVar(&allParams, "all-params", false, "show every param, not only those that differ")
	return cmd
}

func writeComparison(w io.Writer, c *tracking.Comparison, allParams bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// Every line has one cell per run, so tabwriter aligns the columns
	// through the whole table rather than block by block.
	row := func(label string, cells []string) {
		fmt.Fprint(tw, label)
		for i := range c.Runs {
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}
			fmt.Fprintf(tw, "\t%s", cell)
		}
		fmt.Fprintln(tw)
	}
	blank := func() { row("", nil) }
	// Notes go below the table: in a cell they would widen a run's column.
	var notes []string
	note := func(label, text string) { notes = append(notes, label+": "+text) }
	each := func(f func(r *tracking.Run) string) []string {
		out := make([]string, len(c.Runs))
		for i, r := range c.Runs {
			out[i] = f(r)
		}
		return out
	}
	row("RUN", each(func(r *tracking.Run) string { return r.Info.RunID }))
	row("name", each(func(r *tracking.Run) string { return orDash(r.Info.RunName) }))
	row("status", each(func(r *tracking.Run) string { return string(r.Info.Status) }))
	row("started", each(func(r *tracking.Run) string { return formatTime(r.Info.StartTime) }))
	row("duration", each(func(r *tracking.Run) string { return formatDuration(r.Info) }))

	blank()
	shown := 0
	for _, p := range c.Params {
		if !allParams && !p.Differs {
			continue
		}
		cells := make([]string, len(p.Values))
		for i := range p.Values {
			cells[i] = "-"
			if p.Present[i] {
				cells[i] = p.Values[i]
			}
		}
		row("params."+p.Key, cells)
		shown++
	}
	if shown == 0 {
		if allParams || len(c.Params) == 0 {
			note("params", "none logged")
		} else {
			note("params", fmt.Sprintf("all %d equal; --all-params shows them", len(c.Params)))
		}
	} else if !allParams && shown < len(c.Params) {
		note("params", fmt.Sprintf("%d more equal; --all-params shows them", len(c.Params)-shown))
	}

	blank()
	for _, m := range c.Metrics {
		final := make([]string, len(m.Final))
		bestCells := make([]string, len(m.Best))
		for i := range m.Final {
			final[i], bestCells[i] = "-", "-"
			if m.Present[i] {
				final[i] = formatValue(m.Final[i])
				bestCells[i] = fmt.Sprintf("%s (step %d)", formatValue(m.Best[i]), m.BestStep[i])
			}
		}
		dir := "max"
		if m.LowerIsBetter {
			dir = "min"
		}
		row("metrics."+m.Key, final)
		row("  best ("+dir+")", bestCells)
	}
	if len(c.Metrics) == 0 {
		note("metrics", "none logged")
	}

	blank()
	list := func(v [][]string) []string {
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = "-"
			if len(s) > 0 {
				out[i] = strings.Join(s, ", ")
			}
		}
		return out
	}
	row("datasets", list(c.Datasets))
	row("registered", list(c.Versions))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

func (a *app) runsPlotCmd() *cobra.Command {
	var (
		tf     trackingFlags
		metric string
		out    string
		title  string
		logY   bool
	)
	cmd := &cobra.Command{
		Use:   "plot RUN_ID... --metric KEY --out FILE.png|svg",
		Short: "Plot a metric's history for several runs on one chart",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if metric == "" {
				return usageError{errors.New("--metric is required")}
			}
			if out == "" {
				return usageError{errors.New("--out is required")}
			}
			if ext := strings.ToLower(filepath.Ext(out)); ext != ".png" && ext != ".svg" {
				return usageError{fmt.Errorf("--out %s: want a .png or .svg file", out)}
			}
			s, _, err := tf.open()
			if err != nil {
				return err
			}
			defer s.Close()
			series, err := plot.RunSeries(cmd.Context(), s, args, metric)
			if err != nil {
				return err
			}
			if title == "" {
				title = metric
			}
			if err := plot.Write(out, series, plot.Options{Title: title, XLabel: "step", YLabel: metric, LogY: logY}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s (%d runs)\n", out, len(series))
			return nil
		},
	}
	tf.register(cmd.Flags())
	cmd.Flags().StringVar(&metric, "metric", "", "metric key to plot, e.g. train_loss")
	cmd.Flags().StringVar(&out, "out", "", "output file, .png or .svg")
	cmd.Flags().StringVar(&title, "title", "", "chart title (default: the metric)")
	cmd.Flags().BoolVar(&logY, "log-y", false, "logarithmic y axis")
	return cmd
}

func (a *app) runsSyncCmd() *cobra.Command {
	var (
		tf       trackingFlags
		spillDir string
	)
	cmd := &cobra.Command{
		Use:   "sync [--spill-dir DIR]",
		Short: "Send what training could not log while the tracking server was down",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spillDir == "" {
				spillDir = tracking.DefaultSpillDir()
			}
			files, err := tracking.SpillFiles(spillDir)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				fmt.Fprintf(a.stdout, "nothing to sync in %s\n", spillDir)
				return nil
			}
			s, _, err := tf.open()
			if err != nil {
				return err
			}
			defer s.Close()
			return syncSpillFiles(cmd.Context(), a.stdout, s, files)
		},
	}
	tf.register(cmd.Flags())
	cmd.Flags().StringVar(&spillDir, "spill-dir", "", "directory of spill files (default $NEBRAS_SPILL_DIR, else .nebras/spill)")
	return cmd
}

// syncSpillFiles replays every spill file, going on past failures so one
// bad file does not hold the others back, and fails if any failed.
func syncSpillFiles(ctx context.Context, w io.Writer, s tracking.Store, files []string) error {
	var failed []string
	for _, f := range files {
		rep, err := tracking.Sync(ctx, s, f)
		for _, warn := range rep.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", filepath.Base(f), warn)
		}
		if err != nil {
			fmt.Fprintf(w, "failed: %s: %s\n", filepath.Base(f), oneLine(err))
			failed = append(failed, filepath.Base(f))
			continue
		}
		ended := ""
		if rep.Ended {
			ended = ", run ended"
		}
		fmt.Fprintf(w, "synced run %s: %d records (%d metrics, %d params, %d tags%s)\n",
			rep.RunID, rep.Records, rep.Metrics, rep.Params, rep.Tags, ended)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d spill files did not sync (%s); they are kept, run sync again", len(failed), len(files), strings.Join(failed, ", "))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).Local().Format("2006-01-02 15:04:05")
}

func formatDuration(info tracking.RunInfo) string {
	if info.StartTime == 0 || info.EndTime == 0 {
		return "-"
	}
	return (time.Duration(info.EndTime-info.StartTime) * time.Millisecond).Round(time.Second).String()
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		return tracking.FormatMetricValue(v)
	}
	return fmt.Sprintf("%.6g", v)
}
