package pipelines

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/transforms/synth"
)

// benchConversations is the pipeline benchmark's input size; the issue's
// target is measured at 200k. NEBRAS_BENCH_CONVERSATIONS overrides it.
func benchConversations(b *testing.B) int {
	n := 200_000
	if s := os.Getenv("NEBRAS_BENCH_CONVERSATIONS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("NEBRAS_BENCH_CONVERSATIONS=%q: want a positive integer", s)
		}
		n = v
	}
	return n
}

// benchInput writes n synthetic conversations (seed 1) into dir.
func benchInput(b *testing.B, dir string, n int) string {
	b.Helper()
	p := filepath.Join(dir, fmt.Sprintf("tickets-%d.jsonl", n))
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	o := synth.DefaultOptions()
	o.N, o.Seed = n, 1
	if _, err := synth.Generate(f, o); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPipeline runs the same input through the plain loop and through
// Prism in one process, so their ratio is measured side by side.
func BenchmarkPipeline(b *testing.B) {
	n := benchConversations(b)
	dir := b.TempDir()
	in := benchInput(b, dir, n)
	st, _ := os.Stat(in)
	for _, runner := range []string{RunnerLoop, RunnerPrism} {
		b.Run(fmt.Sprintf("conversations=%d/runner=%s", n, runner), func(b *testing.B) {
			b.SetBytes(st.Size())
			for i := 0; i < b.N; i++ {
				o := DefaultOptions()
				o.Inputs, o.Output, o.Runner = []string{in}, filepath.Join(dir, fmt.Sprintf("ds-%s-%d", runner, i)), runner
				start := time.Now()
				res, err := Run(context.Background(), o, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Manifest.Counts.Read)/time.Since(start).Seconds(), "conversations/s")
				b.StopTimer()
				os.RemoveAll(o.Output)
				b.StartTimer()
			}
		})
	}
}

// TestHelperPrepare is not a test: BenchmarkPrepareRSS re-runs the test
// binary with NEBRAS_HELPER_PREPARE set to measure one prepare run's peak
// RSS in a process of its own.
func TestHelperPrepare(t *testing.T) {
	raw := os.Getenv("NEBRAS_HELPER_PREPARE")
	if raw == "" {
		t.Skip("helper process for BenchmarkPrepareRSS")
	}
	var o Options
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPrepareRSS reports the peak resident memory of a prepare run at
// 1× and 4× the input, each in a fresh process.
func BenchmarkPrepareRSS(b *testing.B) {
	n := benchConversations(b) / 4
	dir := b.TempDir()
	for _, scale := range []int{1, 4} {
		in := benchInput(b, dir, n*scale)
		for _, runner := range []string{RunnerPrism, RunnerLoop} {
			b.Run(fmt.Sprintf("conversations=%d/runner=%s", n*scale, runner), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					o := DefaultOptions()
					o.Inputs, o.Runner = []string{in}, runner
					o.Output = filepath.Join(dir, fmt.Sprintf("rss-%d-%s-%d", scale, runner, i))
					raw, _ := json.Marshal(o)
					cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPrepare$", "-test.count=1")
					cmd.Env = append(os.Environ(), "NEBRAS_HELPER_PREPARE="+string(raw))
					var out bytes.Buffer
					cmd.Stdout, cmd.Stderr = &out, &out
					if err := cmd.Run(); err != nil {
						b.Fatalf("helper: %v\n%s", err, out.Bytes())
					}
					ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
					b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
					os.RemoveAll(o.Output)
				}
			})
		}
	}
}
