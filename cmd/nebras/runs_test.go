package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/mlflowtest"
)

// writeRuns logs three training runs to a local store the way the trainer
// will, and registers the best one.
func writeRuns(t *testing.T, root string) []string {
	t.Helper()
	ctx := context.Background()
	s, err := tracking.NewFileStore(root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, lr := range []string{"1e-4", "3e-4", "1e-3"} {
		run, err := tracking.StartRun(ctx, s, tracking.RunOptions{Experiment: "cmp", RunName: "lr-" + lr})
		if err != nil {
			t.Fatal(err)
		}
		id := run.Info.RunID
		var metrics []tracking.Metric
		for step := range 20 {
			loss := 4 - float64(step)*0.1*float64(i+1)
			if step == 19 && i == 2 {
				loss = 3 // diverged at the end: final differs from best
			}
			metrics = append(metrics, tracking.Metric{Key: "train_loss", Value: loss, Timestamp: int64(1700000000000 + step), Step: int64(step)})
		}
		metrics = append(metrics, tracking.Metric{Key: "val_loss", Value: 3 - float64(i)*0.5, Timestamp: 1700000000100, Step: 19})
		params := []tracking.Param{{Key: "lr", Value: lr}, {Key: "batch_size", Value: "8"}}
		if err := s.LogBatch(ctx, id, metrics, params, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.LogInputs(ctx, id, []tracking.DatasetInput{{
			Tags:    []tracking.Tag{{Key: "mlflow.data.context", Value: "training"}},
			Dataset: tracking.Dataset{Name: "tickets", Digest: "d1g35t", SourceType: "local", Source: "{}"},
		}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateRun(ctx, id, tracking.RunFinished, time.Now().UnixMilli(), ""); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s.CreateRegisteredModel(ctx, "bot", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{Name: "bot", Source: "file:///m", RunID: ids[2]}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRegisteredModelAlias(ctx, "bot", "production", "1"); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestRunsListCompareAndPlot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	ids := writeRuns(t, root)

	out, _, err := run(t, "runs", "list", "--tracking-uri", root, "--experiment", "cmp",
		"--filter", "metrics.val_loss < 2.8", "--order-by", "metrics.val_loss ASC")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], ids[2]) || !strings.HasPrefix(lines[2], ids[1]) || !strings.Contains(lines[0], "val_loss") {
		t.Fatalf("list:\n%s", out)
	}
	out, _, err = run(t, "runs", "list", "--tracking-uri", root, "--experiment", "cmp", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 3 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if _, _, err := run(t, "runs", "list", "--tracking-uri", root, "--experiment", "cmp", "--filter", "metrics.x <> 1"); err == nil || !strings.Contains(err.Error(), "<>") {
		t.Errorf("bad filter: %v", err)
	}
	if _, _, err := run(t, "runs", "list", "--tracking-uri", root, "--experiment", "nope"); err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
		t.Errorf("missing experiment: %v", err)
	}

	out, _, err = run(t, "runs", "compare", "--tracking-uri", root, ids[0], ids[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"params.lr", "1e-4", "1e-3", // differs: shown
		"1 more equal", // batch_size is equal: hidden
		"metrics.train_loss", "best (min)",
		"-1.4 (step 18)", // run 3's best train_loss, before it diverged to 3
		"tickets@d1g35t (training)",
		"bot v1 @production",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("compare lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "params.batch_size") {
		t.Errorf("compare shows an equal param without --all-params:\n%s", out)
	}
	out, _, _ = run(t, "runs", "compare", "--tracking-uri", root, "--all-params", ids[0], ids[1])
	if !strings.Contains(out, "params.batch_size") {
		t.Errorf("--all-params hides batch_size:\n%s", out)
	}
	if _, _, err := run(t, "runs", "compare", "--tracking-uri", root, "0123456789abcdef0123456789abcdef"); err == nil {
		t.Error("compare of a missing run succeeded")
	}

	img := filepath.Join(t.TempDir(), "loss.png")
	if _, _, err := run(t, append([]string{"runs", "plot", "--tracking-uri", root, "--metric", "train_loss", "--out", img}, ids...)...); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("plot is not a PNG: %v", err)
	}
	if _, _, err := run(t, "runs", "plot", "--tracking-uri", root, "--metric", "train_loss", "--out", "x.jpg", ids[0]); err == nil || !strings.Contains(err.Error(), ".png or .svg") {
		t.Errorf("jpg output: %v", err)
	}
	if _, _, err := run(t, "runs", "plot", "--tracking-uri", root, "--metric", "bleu", "--out", filepath.Join(t.TempDir(), "b.svg"), ids[0]); err == nil {
		t.Error("plotting a metric no run has succeeded")
	}
}

// TestRunsSyncCompletesARunLoggedWhileTheServerWasDown is the Done-when
// check: a run logged while the server was down is complete after
// `nebras runs sync`.
func TestRunsSyncCompletesARunLoggedWhileTheServerWasDown(t *testing.T) {
	ctx := context.Background()
	backend, err := tracking.NewFileStore(t.TempDir(), tracking.WithArtifactRoot("mlflow-artifacts:"))
	if err != nil {
		t.Fatal(err)
	}
	srv := mlflowtest.New(backend, mlflowtest.Options{ArtifactDir: t.TempDir()})
	defer srv.Close()
	c, err := tracking.NewRESTStore(tracking.RESTConfig{URI: srv.URL(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tracking.StartRun(ctx, c, tracking.RunOptions{RunName: "offline"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	spillDir := t.TempDir()
	lg := tracking.NewLogger(c, r.Info.RunID, tracking.LoggerOptions{
		FlushInterval: time.Millisecond, RetryFor: 20 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, SpillDir: spillDir,
	})
	for step := range 30 {
		lg.LogMetric("train_loss", float64(30-step), int64(step))
	}
	lg.End(ctx, tracking.RunFinished)
	lg.Close(ctx)

	out, _, err := run(t, "runs", "sync", "--spill-dir", spillDir, "--tracking-uri", srv.URL())
	if err == nil {
		t.Fatalf("sync with the server down succeeded:\n%s", out)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, "runs", "sync", "--spill-dir", spillDir, "--tracking-uri", srv.URL())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("synced run %s", r.Info.RunID)) || !strings.Contains(out, "run ended") {
		t.Errorf("sync said:\n%s", out)
	}
	got, err := c.GetRun(ctx, r.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := c.GetMetricHistory(ctx, r.Info.RunID, "train_loss")
	if got.Info.Status != tracking.RunFinished || len(hist) != 30 {
		t.Errorf("after sync: status %s, %d train_loss values; want FINISHED, 30", got.Info.Status, len(hist))
	}
	out, _, err = run(t, "runs", "sync", "--spill-dir", spillDir, "--tracking-uri", srv.URL())
	if err != nil || !strings.Contains(out, "nothing to sync") {
		t.Errorf("second sync: %v\n%s", err, out)
	}
}
