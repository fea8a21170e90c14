package training

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Progress display defaults.
const (
	// DefaultProgressInterval is how often a progress line is logged when
	// the output is not a terminal: often enough to see a CI job move,
	// rarely enough to keep its log readable.
	DefaultProgressInterval = 30 * time.Second
	// redrawInterval limits terminal redraws to about four a second; more
	// is flicker, and costs the training loop a write per step.
	redrawInterval = 250 * time.Millisecond
	barWidth       = 20
	// lossSmoothing is the weight of the past in the displayed loss, an
	// exponential moving average with bias correction (as TensorBoard's
	// smoothing), so that early steps are not dragged towards zero.
	lossSmoothing = 0.9
)

// ProgressOptions configures a Progress.
type ProgressOptions struct {
	// Terminal redraws one line in place; otherwise progress is logged as
	// structured lines. Set it with IsTerminal.
	Terminal bool
	// Interval is the time between logged lines when not on a terminal;
	// 0 means DefaultProgressInterval.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Width is the terminal's width in columns; 0 means $COLUMNS when it
	// is set, else 80. Fields are left out of the line to fit.
	Width int
}

// Progress shows how a training run is going: on a terminal, one line
// redrawn in place with the step, epoch, smoothed loss, learning rate,
// throughput, elapsed time, ETA and a bar; elsewhere (CI logs), a
// structured log line every Interval and at the end. Its methods are safe
// for concurrent use.
type Progress struct {
	w     io.Writer
	log   *slog.Logger
	total int
	opt   ProgressOptions

	mu        sync.Mutex
	start     time.Time
	first     time.Time // when the first step was reported
	firstStep int
	lastDraw  time.Time
	lastLog   time.Time
	drawn     bool // the progress line is on the screen
	steps     int  // Step calls, for the loss average's bias correction
	done      bool

	step, epoch   int
	ema, lr, tput float64
}

// NewProgress returns a Progress for a run of total optimizer steps (0 or
// less when the budget is a time limit or unknown: no bar and no ETA).
// On a terminal it draws on w; elsewhere it logs to log, or, when log is
// nil, as text lines on w. The elapsed time counts from this call.
func NewProgress(w io.Writer, log *slog.Logger, total int, opt ProgressOptions) *Progress {
	if opt.Interval <= 0 {
		opt.Interval = DefaultProgressInterval
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Width <= 0 {
		opt.Width = 80
		if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
			opt.Width = n
		}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(w, nil))
	}
	return &Progress{w: w, log: log, total: total, opt: opt, start: opt.Now()}
}

// IsTerminal reports whether f is a character device, as a terminal is.
// It needs no system call beyond stat, at the price of taking /dev/null
// for a terminal too, where the redrawn line harms nobody.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Step reports that optimizer step step (1 to total) is done, in epoch
// epoch, with the step's training loss, learning rate and throughput.
func (p *Progress) Step(step, epoch int, loss, lr, tokensPerSec float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	now := p.opt.Now()
	if p.steps == 0 {
		p.first, p.firstStep = now, step
	}
	p.steps++
	p.ema = lossSmoothing*p.ema + (1-lossSmoothing)*loss
	p.step, p.epoch, p.lr, p.tput = step, epoch, lr, tokensPerSec
	last := p.total > 0 && step >= p.total
	if p.opt.Terminal {
		if p.steps == 1 || last || now.Sub(p.lastDraw) >= redrawInterval {
			p.draw(now)
		}
		return
	}
	if p.steps == 1 || now.Sub(p.lastLog) >= p.opt.Interval {
		p.logStep("training", now)
	}
}

// Eval reports a validation loss, printed on its own line (logged when
// not on a terminal), with the perplexity it means.
func (p *Progress) Eval(step int, valLoss float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	if !p.opt.Terminal {
		p.log.Info("evaluation", "step", step, "val_loss", round4(valLoss), "val_perplexity", round4(math.Exp(valLoss)))
		return
	}
	p.printLine(fmt.Sprintf("eval  step %s  val_loss %.4f  perplexity %.2f", p.stepText(step), valLoss, math.Exp(valLoss)))
}

// Note prints msg on its own line (logs it when not on a terminal),
// keeping the progress line below it: for checkpoints, early stopping and
// the like.
func (p *Progress) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	if !p.opt.Terminal {
		p.log.Info(msg)
		return
	}
	p.printLine(msg)
}

// Done shows the final state: the line is drawn a last time and ended on
// a terminal, a last line is logged elsewhere. Later calls do nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	now := p.opt.Now()
	if !p.opt.Terminal {
		p.logStep("training done", now)
		return
	}
	if p.steps > 0 {
		p.draw(now)
	}
	if p.drawn {
		io.WriteString(p.w, "\n")
		p.drawn = false
	}
}

// printLine writes line above the progress line, which is redrawn under
// it.
func (p *Progress) printLine(line string) {
	if p.drawn {
		io.WriteString(p.w, "\r\x1b[K")
	}
	io.WriteString(p.w, line+"\n")
	p.drawn = false
	if p.steps > 0 {
		p.draw(p.opt.Now())
	}
}

// draw redraws the progress line in place: carriage return, the line,
// and an erase to the end of the line for a shorter line than the last.
func (p *Progress) draw(now time.Time) {
	io.WriteString(p.w, "\r"+p.line(now)+"\x1b[K")
	p.drawn = true
	p.lastDraw = now
}

// line is the progress line, cut to the terminal's width: a line that
// wrapped would leave a copy on the screen at every redraw, as \r only
// returns to the start of the last row. The fields least needed go
// first: lr (it is in MLflow), throughput, the bar, epoch and elapsed
// time.
func (p *Progress) line(now time.Time) string {
	type field struct {
		text string
		drop int // the order of dropping; 0: never
	}
	fields := []field{{"step " + p.stepText(p.step), 0}}
	if p.total > 0 {
		frac := min(max(float64(p.step)/float64(p.total), 0), 1)
		full := int(frac * barWidth)
		fields = append(fields,
			field{"[" + strings.Repeat("#", full) + strings.Repeat("-", barWidth-full) + "]", 3},
			field{fmt.Sprintf("%3d%%", int(frac*100)), 0})
	}
	fields = append(fields,
		field{fmt.Sprintf("epoch %d", p.epoch), 4},
		field{fmt.Sprintf("loss %.4f", p.loss()), 0},
		field{fmt.Sprintf("lr %.2e", p.lr), 1},
		field{fmtRate(p.tput) + " tok/s", 2},
		field{fmtDuration(now.Sub(p.start)), 5})
	if eta, ok := p.eta(now); ok {
		fields = append(fields, field{"ETA " + fmtDuration(eta), 0})
	}
	join := func() string {
		parts := make([]string, 0, len(fields))
		for _, f := range fields {
			if f.drop >= 0 {
				parts = append(parts, f.text)
			}
		}
		return strings.Join(parts, "  ")
	}
	s := join()
	for drop := 1; utf8.RuneCountInString(s) >= p.opt.Width && drop <= 5; drop++ {
		for i := range fields {
			if fields[i].drop == drop {
				fields[i].drop = -1
			}
		}
		s = join()
	}
	// The last column is left free: some terminals wrap on writing it.
	if r := []rune(s); len(r) >= p.opt.Width {
		s = strings.TrimRight(string(r[:max(p.opt.Width-1, 0)]), " ")
	}
	return s
}

// logStep logs the current state as one structured line.
func (p *Progress) logStep(msg string, now time.Time) {
	attrs := []any{"step", p.step}
	if p.total > 0 {
		attrs = append(attrs, "total", p.total)
	}
	attrs = append(attrs, "epoch", p.epoch)
	if p.steps > 0 {
		attrs = append(attrs, "loss", round4(p.loss()), "lr", roundSig(p.lr), "tokens_per_sec", math.Round(p.tput))
	}
	attrs = append(attrs, "elapsed", fmtDuration(now.Sub(p.start)))
	if eta, ok := p.eta(now); ok && msg != "training done" {
		attrs = append(attrs, "eta", fmtDuration(eta))
	}
	p.log.Info(msg, attrs...)
	p.lastLog = now
}

// loss is the smoothed loss, corrected for the average's zero start.
func (p *Progress) loss() float64 {
	if p.steps == 0 {
		return math.NaN()
	}
	return p.ema / (1 - math.Pow(lossSmoothing, float64(p.steps)))
}

// eta extrapolates the pace since the first reported step (not since
// start: a resumed run starts mid-way, and the first step pays for
// warming up).
func (p *Progress) eta(now time.Time) (time.Duration, bool) {
	done := p.step - p.firstStep
	if p.total <= 0 || done <= 0 {
		return 0, false
	}
	left := p.total - p.step
	if left <= 0 {
		return 0, true
	}
	perStep := now.Sub(p.first) / time.Duration(done)
	return perStep * time.Duration(left), true
}

func (p *Progress) stepText(step int) string {
	if p.total <= 0 {
		return fmt.Sprint(step)
	}
	return fmt.Sprintf("%*d/%d", len(fmt.Sprint(p.total)), step, p.total)
}

// duration writes d rounded to the second: 42s, 3m07s, 2h05m09s.
func fmtDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
}

// compact writes a rate with three significant digits and an SI suffix:
// 950, 12.3k, 1.23M.
func fmtRate(v float64) string {
	switch a := math.Abs(v); {
	case a < 999.5:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a < 999.5e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
}

// round4 keeps four decimals, enough to read a loss in a log line.
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// roundSig keeps four significant digits, so a log line reads 0.00055,
// not 0.0005499999999999999.
func roundSig(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return r
}
