// Package plot draws metric curves of tracked runs, such as training loss
// against step, as PNG or SVG files.
package plot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/tracking"
)

// DPI is the resolution of PNG output: a PNG is Width/vg.Inch*DPI pixels
// wide.
const DPI = 96

// Default sizes of a plot.
const (
	DefaultWidth  = 6 * vg.Inch
	DefaultHeight = 4 * vg.Inch
)

// Series is one curve: Values[i] was recorded at Steps[i].
type Series struct {
	Label  string
	Steps  []float64
	Values []float64
}

// Options sets the look of a plot. Zero Width or Height means
// DefaultWidth or DefaultHeight.
type Options struct {
	Title  string
	XLabel string
	YLabel string
	Width  vg.Length
	Height vg.Length
	// LogY puts the Y axis on a logarithmic scale; values ≤ 0 are then
	// left out, as they have no place on it.
	LogY bool
}

// Write draws series as lines, one colour each, with a legend and a grid,
// and writes the plot to path in the format its extension names, .png or
// .svg. The file is replaced atomically. NaN and infinite values are left
// out of the curves rather than failing the plot, but a plot with no
// value left at all is an error.
func Write(path string, series []Series, opt Options) error {
	format := strings.ToLower(filepath.Ext(path))
	if format != ".png" && format != ".svg" {
		return fmt.Errorf("plot %s: unsupported format %q, want .png or .svg", path, filepath.Ext(path))
	}
	p, err := build(series, opt)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	w, h := opt.Width, opt.Height
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if format == ".png" {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))}
	} else {
		c = vgsvg.New(w, h)
	}
	if err := drawSafely(p, draw.New(c)); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := atomicfile.Write(path, func(out io.Writer) error {
		_, err := c.WriteTo(out)
		return err
	}); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// build makes the plot of series without drawing it.
func build(series []Series, opt Options) (*gplot.Plot, error) {
	if len(series) == 0 {
		return nil, errors.New("no series to plot")
	}
	p := gplot.New()
	p.Title.Text = opt.Title
	p.X.Label.Text = opt.XLabel
	p.Y.Label.Text = opt.YLabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	if opt.LogY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = gplot.LogTicks{Prec: -1}
	}
	points := 0
	for i, s := range series {
		if len(s.Steps) != len(s.Values) {
			return nil, fmt.Errorf("series %q: %d steps but %d values", s.Label, len(s.Steps), len(s.Values))
		}
		xys := make(plotter.XYs, 0, len(s.Values))
		for j, v := range s.Values {
			x := s.Steps[j]
			if !finite(x) || !finite(v) || (opt.LogY && v <= 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: x, Y: v})
		}
		points += len(xys)
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", s.Label, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		if len(xys) == 1 {
			// A line through one point draws nothing; mark the point.
			dot, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("series %q: %w", s.Label, err)
			}
			dot.Color = line.Color
			p.Add(dot)
		}
		p.Legend.Add(s.Label, line)
	}
	if points == 0 {
		return nil, errors.New("no finite values to plot")
	}
	return p, nil
}

// drawSafely draws p on c, turning a panic of the plotting library (it
// panics on ranges it cannot scale) into an error.
func drawSafely(p *gplot.Plot, c draw.Canvas) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("draw: %v", r)
		}
	}()
	p.Draw(c)
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// RunSeries reads the history of metric for each run in runIDs, one
// series per run in the same order, sorted by step (then timestamp).
// Series are labelled with the run's name and the first 8 characters of
// its ID. A run that has no value of metric is an error naming it.
func RunSeries(ctx context.Context, store tracking.Store, runIDs []string, metric string) ([]Series, error) {
	out := make([]Series, 0, len(runIDs))
	for _, id := range runIDs {
		run, err := store.GetRun(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("plot %s of run %s: %w", metric, id, err)
		}
		hist, err := store.GetMetricHistory(ctx, id, metric)
		if err != nil && !errors.Is(err, tracking.ErrNotFound) {
			return nil, fmt.Errorf("plot %s of run %s: %w", metric, id, err)
		}
		if len(hist) == 0 {
			return nil, fmt.Errorf("plot: run %s has no metric %q", id, metric)
		}
		hist = slices.Clone(hist)
		slices.SortStableFunc(hist, func(a, b tracking.Metric) int {
			return cmp.Or(cmp.Compare(a.Step, b.Step), cmp.Compare(a.Timestamp, b.Timestamp))
		})
		s := Series{
			Label:  label(run.Info.RunName, id),
			Steps:  make([]float64, len(hist)),
			Values: make([]float64, len(hist)),
		}
		for i, m := range hist {
			s.Steps[i] = float64(m.Step)
			s.Values[i] = m.Value
		}
		out = append(out, s)
	}
	return out, nil
}

// label names a run in a legend: two runs of one name stay apart by ID.
func label(name, id string) string {
	short := id
	if len(short) > 8 {
		short = short[:8]
	}
	if name == "" {
		return short
	}
	return name + " (" + short + ")"
}
