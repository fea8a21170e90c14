package training

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// progressClock is a clock tests move by hand.
type progressClock struct{ t time.Time }

func (c *progressClock) now() time.Time          { return c.t }
func (c *progressClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newProgressClock() *progressClock {
	return &progressClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// lastLine is what a terminal shows last: the text after the last
// carriage return, without the erase-line sequences.
func terminalLastLine(out string) string {
	out = strings.ReplaceAll(out, "\x1b[K", "")
	return out[strings.LastIndex(out, "\r")+1:]
}

func TestProgressTerminal(t *testing.T) {
	clock := newProgressClock()
	var out bytes.Buffer
	p := NewProgress(&out, nil, 10, ProgressOptions{Terminal: true, Now: clock.now, Width: 200})
	draws := func() int { return strings.Count(out.String(), "\rstep ") }

	clock.advance(2 * time.Second) // loading the model
	p.Step(1, 0, 4, 3e-4, 1000)
	if draws() != 1 {
		t.Fatalf("the first step was not drawn: %q", out.String())
	}
	if got, want := terminalLastLine(out.String()), "step  1/10  [##------------------]   10%  epoch 0  loss 4.0000  lr 3.00e-04  1k tok/s  2s"; got != want {
		t.Errorf("first line\n got %q\nwant %q", got, want)
	}
	// Redraws are limited to about four a second.
	clock.advance(100 * time.Millisecond)
	p.Step(2, 0, 2, 3e-4, 1000)
	if draws() != 1 {
		t.Errorf("redrawn 100ms after the last draw")
	}
	clock.advance(200 * time.Millisecond)
	p.Step(3, 0, 2, 2e-4, 12345.6)
	if draws() != 2 {
		t.Fatalf("not redrawn 300ms after the last draw")
	}
	// Loss 4, 2, 2 smoothed with bias correction: (0.081*4+0.09*2+0.1*2)/0.271.
	// ETA: 2 steps in 300ms, 7 to go.
	if got, want := terminalLastLine(out.String()), "step  3/10  [######--------------]   30%  epoch 0  loss 2.5978  lr 2.00e-04  12.3k tok/s  2s  ETA 1s"; got != want {
		t.Errorf("third line\n got %q\nwant %q", got, want)
	}
	if strings.Contains(out.String(), "\n") {
		t.Errorf("steps wrote a newline: %q", out.String())
	}

	p.Eval(3, 2.5)
	text := out.String()
	evalAt := strings.Index(text, "eval  step  3/10  val_loss 2.5000  perplexity 12.18\n")
	if evalAt < 0 {
		t.Fatalf("no eval line in %q", text)
	}
	// The eval line replaces the progress line, which comes back below.
	if !strings.HasSuffix(text[:evalAt], "\r\x1b[K") || !strings.Contains(text[evalAt:], "\rstep  3/10") {
		t.Errorf("eval line not printed above the progress line: %q", text)
	}

	p.Note("checkpoint saved")
	if !strings.Contains(out.String(), "\r\x1b[Kcheckpoint saved\n") {
		t.Errorf("no note line in %q", out.String())
	}

	// The last step is drawn whatever the time since the last draw.
	clock.advance(time.Millisecond)
	n := draws()
	p.Step(10, 1, 2, 0, 1000)
	if draws() != n+1 || !strings.Contains(terminalLastLine(out.String()), "[####################]  100%  epoch 1") {
		t.Errorf("last step not drawn: %q", terminalLastLine(out.String()))
	}
	p.Done()
	if !strings.HasSuffix(out.String(), "\n") || !strings.Contains(terminalLastLine(out.String()), "ETA 0s") {
		t.Errorf("done: %q", out.String())
	}
	size := out.Len()
	p.Done()
	p.Step(11, 1, 1, 0, 0)
	p.Eval(11, 1)
	if out.Len() != size {
		t.Errorf("output after Done: %q", out.String()[size:])
	}
}

// newTestLogger logs text lines without the time, so tests can compare.
func newProgressTestLogger(w *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func TestProgressLog(t *testing.T) {
	clock := newProgressClock()
	var out, logs bytes.Buffer
	p := NewProgress(&out, newProgressTestLogger(&logs), 100, ProgressOptions{Now: clock.now})
	for step := 1; step <= 100; step++ {
		clock.advance(time.Second)
		p.Step(step, (step-1)/50, 2, 1e-4, 500)
		if step == 50 {
			p.Eval(50, 1.5)
		}
	}
	p.Done()
	if out.Len() != 0 {
		t.Errorf("wrote to the terminal writer: %q", out.String())
	}
	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	want := []string{
		`level=INFO msg=training step=1 total=100 epoch=0 loss=2 lr=0.0001 tokens_per_sec=500 elapsed=1s`,
		`level=INFO msg=training step=31 total=100 epoch=0 loss=2 lr=0.0001 tokens_per_sec=500 elapsed=31s eta=1m09s`,
		`level=INFO msg=evaluation step=50 val_loss=1.5 val_perplexity=4.4817`,
		`level=INFO msg=training step=61 total=100 epoch=1 loss=2 lr=0.0001 tokens_per_sec=500 elapsed=1m01s eta=39s`,
		`level=INFO msg=training step=91 total=100 epoch=1 loss=2 lr=0.0001 tokens_per_sec=500 elapsed=1m31s eta=9s`,
		`level=INFO msg="training done" step=100 total=100 epoch=1 loss=2 lr=0.0001 tokens_per_sec=500 elapsed=1m40s`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines\n got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestProgressWithoutTotal(t *testing.T) {
	clock := newProgressClock()
	var out, logs bytes.Buffer
	term := NewProgress(&out, nil, 0, ProgressOptions{Terminal: true, Now: clock.now, Width: 200})
	logged := NewProgress(&out, newProgressTestLogger(&logs), 0, ProgressOptions{Interval: time.Minute, Now: clock.now})
	for step := 1; step <= 3; step++ {
		clock.advance(time.Second)
		term.Step(step, 0, 3, 1e-3, 10)
		logged.Step(step, 0, 3, 1e-3, 10)
	}
	if got, want := terminalLastLine(out.String()), "step 3  epoch 0  loss 3.0000  lr 1.00e-03  10 tok/s  3s"; got != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
	if got := logs.String(); got != "level=INFO msg=training step=1 epoch=0 loss=3 lr=0.001 tokens_per_sec=10 elapsed=1s\n" {
		t.Errorf("log %q", got)
	}
	// Done before any step: nothing to draw, nothing left open.
	var empty bytes.Buffer
	NewProgress(&empty, nil, 5, ProgressOptions{Terminal: true, Now: clock.now}).Done()
	if empty.Len() != 0 {
		t.Errorf("Done without steps wrote %q", empty.String())
	}
}

func TestFmtDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1499 * time.Millisecond, "1s"},
		{59*time.Second + 600*time.Millisecond, "1m00s"},
		{3*time.Minute + 7*time.Second, "3m07s"},
		{2*time.Hour + 5*time.Minute + 9*time.Second, "2h05m09s"},
		{50 * time.Hour, "50h00m00s"},
	} {
		if got := fmtDuration(c.d); got != c.want {
			t.Errorf("duration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, c := range []struct {
		name string
		f    *os.File
	}{{"regular file", f}, {"pipe", w}} {
		if IsTerminal(c.f) {
			t.Errorf("%s taken for a terminal", c.name)
		}
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		defer null.Close()
		if !IsTerminal(null) {
			t.Errorf("%s is a character device, yet not taken for one", os.DevNull)
		}
	}
	if IsTerminal(os.NewFile(^uintptr(0), "closed")) {
		t.Error("an invalid file taken for a terminal")
	}
}

func TestProgressLineFitsTheTerminal(t *testing.T) {
	// The line is redrawn with \r: if it wrapped, every redraw would add a
	// line. Fields go, least needed first, to fit.
	for _, c := range []struct {
		width int
		want  string
	}{
		// 100 steps in 99 minutes, 9010 to go.
		{200, "step   990/10000  [#-------------------]    9%  epoch 3  loss 2.3457  lr 1.23e-04  1.23M tok/s  1h39m00s  ETA 148h39m54s"},
		{120, "step   990/10000  [#-------------------]    9%  epoch 3  loss 2.3457  1.23M tok/s  1h39m00s  ETA 148h39m54s"},
		{100, "step   990/10000  [#-------------------]    9%  epoch 3  loss 2.3457  1h39m00s  ETA 148h39m54s"},
		{80, "step   990/10000    9%  epoch 3  loss 2.3457  1h39m00s  ETA 148h39m54s"},
		{60, "step   990/10000    9%  loss 2.3457  ETA 148h39m54s"},
		{30, "step   990/10000    9%  loss"},
	} {
		clock := newProgressClock()
		var out bytes.Buffer
		p := NewProgress(&out, nil, 10000, ProgressOptions{Terminal: true, Now: clock.now, Width: c.width})
		p.Step(890, 3, 2.3457, 1.2345e-4, 1_234_567)
		clock.advance(99 * time.Minute)
		p.Step(990, 3, 2.3457, 1.2345e-4, 1_234_567)
		line := terminalLastLine(out.String())
		if line != c.want {
			t.Errorf("width %d:\n got %q\nwant %q", c.width, line, c.want)
		}
		if n := len([]rune(line)); n >= c.width {
			t.Errorf("width %d: %d columns", c.width, n)
		}
	}
	t.Setenv("COLUMNS", "42")
	if p := NewProgress(io.Discard, nil, 1, ProgressOptions{}); p.opt.Width != 42 {
		t.Errorf("width %d from COLUMNS=42", p.opt.Width)
	}
	t.Setenv("COLUMNS", "")
	if p := NewProgress(io.Discard, nil, 1, ProgressOptions{}); p.opt.Width != 80 {
		t.Errorf("width %d without COLUMNS", p.opt.Width)
	}
}

func TestFmtRate(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "0"}, {12.4, "12"}, {999.4, "999"}, {999.6, "1k"}, {12345, "12.3k"}, {1_234_567, "1.23M"}} {
		if got := fmtRate(c.v); got != c.want {
			t.Errorf("compact(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
