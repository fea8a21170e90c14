package tracking_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/mlflowtest"
)

// TestLoggerSpillsWhileServerIsDownAndSyncCompletesTheRun kills the
// tracking server in the middle of a run: training goes on, what could
// not be sent lands in the spill file, and after the server is back
// `Sync` makes the run complete, with every metric once.
func TestLoggerSpillsWhileServerIsDownAndSyncCompletesTheRun(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, mlflowtest.Options{})
	c := newClient(t, srv, tracking.RESTConfig{MaxRetries: -1, Timeout: 2 * time.Second})
	run, err := tracking.StartRun(ctx, c, tracking.RunOptions{RunName: "interrupted"})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	spillDir := t.TempDir()
	log := tracking.NewLogger(c, id, tracking.LoggerOptions{
		FlushInterval: 5 * time.Millisecond,
		RetryFor:      100 * time.Millisecond,
		MinBackoff:    time.Millisecond,
		MaxBackoff:    10 * time.Millisecond,
		SpillDir:      spillDir,
	})
	log.LogParams(tracking.Param{Key: "lr", Value: "3e-4"})
	for step := range 100 {
		log.LogMetric("train_loss", 5-float64(step)/100, int64(step))
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Close() // the server dies mid-run
	for step := 100; step < 250; step++ {
		log.LogMetrics(int64(step), map[string]float64{"train_loss": 5 - float64(step)/100, "learning_rate": 3e-4})
	}
	log.LogParams(tracking.Param{Key: "stopped_early", Value: "false"})
	endErr := log.End(ctx, tracking.RunFinished)
	if err := log.Close(ctx); err != nil {
		t.Logf("close: %v", err)
	}
	st := log.Stats()
	if st.Spilled == 0 {
		t.Fatalf("nothing spilled while the server was down (end: %v, stats %+v)", endErr, st)
	}
	spill := tracking.SpillPath(spillDir, id)
	if _, err := os.Stat(spill); err != nil {
		t.Fatalf("spill file: %v", err)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	r, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.Status != tracking.RunRunning {
		t.Fatalf("before sync the run is %s, want RUNNING", r.Info.Status)
	}
	files, err := tracking.SpillFiles(spillDir)
	if err != nil || len(files) != 1 {
		t.Fatalf("spill files %v, %v", files, err)
	}
	rep, err := tracking.Sync(ctx, c, files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Ended || rep.RunID != id {
		t.Errorf("sync report %+v", rep)
	}
	if _, err := os.Stat(spill); !os.IsNotExist(err) {
		t.Errorf("spill file still there after a full sync: %v", err)
	}

	r, err = c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.Status != tracking.RunFinished || r.Info.EndTime == 0 {
		t.Errorf("after sync the run is %s (end %d), want FINISHED", r.Info.Status, r.Info.EndTime)
	}
	if v, _ := r.Param("stopped_early"); v != "false" {
		t.Errorf("param logged while down: %q", v)
	}
	for key, want := range map[string]int{"train_loss": 250, "learning_rate": 150} {
		hist, err := c.GetMetricHistory(ctx, id, key)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]int{}
		for _, m := range hist {
			seen[m.Step]++
		}
		if len(hist) != want || len(seen) != want {
			t.Errorf("%s: %d values over %d distinct steps, want %d once each", key, len(hist), len(seen), want)
		}
	}
	// A second sync has nothing to do.
	if files, _ := tracking.SpillFiles(spillDir); len(files) != 0 {
		t.Errorf("spill files left: %v", files)
	}
}
