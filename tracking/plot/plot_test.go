package plot

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/nebras-ai/nebras/tracking"
)

func testSeries() []Series {
	return []Series{
		{Label: "baseline", Steps: []float64{0, 1, 2, 3, 4}, Values: []float64{4, 3, math.NaN(), 1.5, 1}},
		{Label: "bigger-lr", Steps: []float64{0, 1, 2, 3, 4}, Values: []float64{4, 2, 1, math.Inf(1), 0.5}},
	}
}

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.png")
	opt := Options{Title: "loss", XLabel: "step", YLabel: "train_loss", Width: 5 * vg.Inch, Height: 3 * vg.Inch}
	if err := Write(path, testSeries(), opt); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 5*DPI || b.Dy() != 3*DPI {
		t.Errorf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), 5*DPI, 3*DPI)
	}
	bg := img.At(0, 0)
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y)
			if c == bg {
				continue
			}
			r, g, bl, a := c.RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 2 {
		t.Errorf("%d non-background colours, want the curves in more than one", len(colours))
	}
	for i := range testSeries() {
		r, g, bl, a := plotutil.Color(i).RGBA()
		if !colours[[4]uint32{r, g, bl, a}] {
			t.Errorf("no pixel in the colour of series %d", i)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.svg")
	if err := Write(path, testSeries(), Options{Title: "loss", LogY: true}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
	for _, want := range []string{"baseline", "bigger-lr", "loss"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		file   string
		series []Series
	}{
		{"bad extension", "loss.jpg", testSeries()},
		{"no extension", "loss", testSeries()},
		{"no series", "loss.png", nil},
		{"lengths differ", "loss.png", []Series{{Label: "a", Steps: []float64{1, 2}, Values: []float64{1}}}},
		{"nothing finite", "loss.svg", []Series{{Label: "a", Steps: []float64{1, 2}, Values: []float64{math.NaN(), math.Inf(-1)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := Write(path, tt.series, Options{}); err == nil {
				t.Fatal("Write succeeded")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused plot left %s behind (stat: %v)", tt.file, err)
			}
		})
	}
}

func TestWriteSinglePoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.png")
	if err := Write(path, []Series{{Label: "one", Steps: []float64{3}, Values: []float64{0.25}}}, Options{}); err != nil {
		t.Fatal(err)
	}
}

// historyStore serves runs and metric histories from maps; every other
// method of tracking.Store panics through the nil embedded interface.
type historyStore struct {
	tracking.Store
	names   map[string]string
	history map[string][]tracking.Metric // by run ID, for metric "loss"
}

func (s *historyStore) GetRun(_ context.Context, id string) (*tracking.Run, error) {
	name, ok := s.names[id]
	if !ok {
		return nil, &tracking.Error{Code: tracking.CodeResourceDoesNotExist, Message: "run " + id, HTTPStatus: 404}
	}
	return &tracking.Run{Info: tracking.RunInfo{RunID: id, RunName: name}}, nil
}

func (s *historyStore) GetMetricHistory(_ context.Context, id, key string) ([]tracking.Metric, error) {
	if key != "loss" {
		return nil, nil
	}
	return s.history[id], nil
}

func TestRunSeries(t *testing.T) {
	store := &historyStore{
		names: map[string]string{"0123456789abcdef": "blue-fox", "fedcba9876543210": "", "ffff": "empty"},
		history: map[string][]tracking.Metric{
			"0123456789abcdef": {
				{Key: "loss", Value: 2, Step: 2, Timestamp: 30},
				{Key: "loss", Value: 3, Step: 1, Timestamp: 20},
				{Key: "loss", Value: 4, Step: 0, Timestamp: 10},
			},
			"fedcba9876543210": {{Key: "loss", Value: 1, Step: 5, Timestamp: 1}},
		},
	}
	ctx := context.Background()
	got, err := RunSeries(ctx, store, []string{"0123456789abcdef", "fedcba9876543210"}, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d series, want 2", len(got))
	}
	if got[0].Label != "blue-fox (01234567)" || got[1].Label != "fedcba98" {
		t.Errorf("labels %q, %q", got[0].Label, got[1].Label)
	}
	wantSteps, wantValues := []float64{0, 1, 2}, []float64{4, 3, 2}
	for i := range wantSteps {
		if got[0].Steps[i] != wantSteps[i] || got[0].Values[i] != wantValues[i] {
			t.Fatalf("series 0 = %v / %v, want %v / %v", got[0].Steps, got[0].Values, wantSteps, wantValues)
		}
	}

	errTests := []struct {
		name, run, metric, want string
	}{
		{"run without the metric", "ffff", "loss", "ffff"},
		{"unknown metric", "0123456789abcdef", "acc", `"acc"`},
		{"unknown run", "nope", "loss", "nope"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RunSeries(ctx, store, []string{"fedcba9876543210", tt.run}, tt.metric)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}
