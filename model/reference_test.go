package model

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/safetensors"
)

// The fixtures under testdata/reference were written by
// testdata/reference/gpt2_reference.py, an independent plain-PyTorch GPT-2
// (see the README there). These tests never need Python.

const refDir = "testdata/reference"

type refCase struct {
	f       *safetensors.File
	B, T    int
	batch   Batch
	logits  []float32
	loss    float32
	meta    map[string]string
	tensors map[string]bool
}

func openCase(t *testing.T, name string) *refCase {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(refDir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	c := &refCase{f: f, meta: f.Metadata(), tensors: map[string]bool{}}
	for _, ti := range f.Tensors() {
		c.tensors[ti.Name] = true
	}
	c.logits = refFloats(t, f, "logits")
	c.loss = refFloats(t, f, "loss")[0]
	return c
}

func refFloats(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	info, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("fixture has no tensor %q", name)
	}
	n := 1
	for _, d := range info.Shape {
		n *= d
	}
	out := make([]float32, n)
	if err := f.Float32(name, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func refInts(t *testing.T, f *safetensors.File, name string) ([]int32, []int) {
	t.Helper()
	info, ok := f.Tensor(name)
	if !ok || info.DType != safetensors.I64 {
		t.Fatalf("fixture tensor %q missing or not I64", name)
	}
	b, err := f.Bytes(name)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, len(b)/8)
	for i := range out {
		out[i] = int32(int64(binary.LittleEndian.Uint64(b[8*i:])))
	}
	return out, info.Shape
}

// refBatch reads the batch the reference was run on.
func refBatch(t *testing.T) Batch {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(refDir, "case.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, shape := refInts(t, f, "input_ids")
	targets, _ := refInts(t, f, "targets")
	return Batch{B: shape[0], T: shape[1], Inputs: ids, Targets: targets, Weights: refFloats(t, f, "mask")}
}

// relErr is max|got − want| / max|want|: a scale-aware error that does not
// blow up on entries near zero.
func relErr(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

func loadRefModel(t *testing.T) *Model {
	t.Helper()
	m, err := Load(filepath.Join(refDir, "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func metaFloat(t *testing.T, meta map[string]string, key string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(meta[key], 64)
	if err != nil {
		t.Fatalf("fixture metadata %q = %q: %v", key, meta[key], err)
	}
	return v
}

func TestReferenceForwardAndGradients(t *testing.T) {
	for _, threads := range []int{1, 3} {
		t.Run("threads="+strconv.Itoa(threads), func(t *testing.T) {
			cpu := kernels.NewCPU(threads)
			defer cpu.Close()
			m := loadRefModel(t)
			c := openCase(t, "case.safetensors")
			b := refBatch(t)
			g := NewParams(m.Config)
			e, err := NewEngine(cpu, m.Params, EngineOptions{B: b.B, T: b.T, Grads: g})
			if err != nil {
				t.Fatal(err)
			}
			loss, err := e.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			if r := relErr(e.Logits(), c.logits); r > 1e-4 {
				t.Errorf("logits: relative error %.3g > 1e-4", r)
			} else {
				t.Logf("logits: relative error %.3g", r)
			}
			if r := math.Abs(loss.Mean()-float64(c.loss)) / float64(c.loss); r > 1e-4 {
				t.Errorf("loss %.7f, reference %.7f (relative error %.3g)", loss.Mean(), c.loss, r)
			}
			if err := e.Backward(float32(1 / loss.Weight)); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for _, p := range g.Tensors() {
				want := refFloats(t, c.f, "grad.transformer."+p.Name)
				r := relErr(p.Data, want)
				if r > 1e-3 {
					t.Errorf("grad %s: relative error %.3g > 1e-3", p.Name, r)
				}
				worst = math.Max(worst, r)
			}
			t.Logf("gradients: worst relative error %.3g", worst)
			opt, _ := NewAdamW(len(g.Data), nil, DefaultAdamW)
			if got, want := opt.GradNorm(cpu, g.Data), refFloats(t, c.f, "grad_norm")[0]; math.Abs(got-float64(want)) > 1e-3*float64(want) {
				t.Errorf("grad norm %.6f, reference %.6f", got, want)
			}
		})
	}
}

func TestReferenceAdamWSteps(t *testing.T) {
	cpu := kernels.NewCPU(0)
	defer cpu.Close()
	m := loadRefModel(t)
	c := openCase(t, "case.safetensors")
	b := refBatch(t)
	cfg := AdamWConfig{
		Beta1:       metaFloat(t, c.meta, "adamw.beta1"),
		Beta2:       metaFloat(t, c.meta, "adamw.beta2"),
		Eps:         metaFloat(t, c.meta, "adamw.eps"),
		WeightDecay: metaFloat(t, c.meta, "adamw.weight_decay"),
	}
	lr := metaFloat(t, c.meta, "adamw.lr")
	steps := int(metaFloat(t, c.meta, "adamw.steps"))
	maxNorm := float64(refFloats(t, c.f, "clip.max_norm")[0])
	g := NewParams(m.Config)
	e, err := NewEngine(cpu, m.Params, EngineOptions{B: b.B, T: b.T, Grads: g})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewAdamW(len(g.Data), m.Params.DecayMask(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	clipped := false
	for s := 0; s < steps; s++ {
		g.Zero()
		loss, err := e.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		if want := refFloats(t, c.f, "adamw.loss_step"+strconv.Itoa(s))[0]; math.Abs(loss.Mean()-float64(want)) > 1e-4*float64(want) {
			t.Errorf("step %d: loss %.7f, reference %.7f", s, loss.Mean(), want)
		}
		if err := e.Backward(float32(1 / loss.Weight)); err != nil {
			t.Fatal(err)
		}
		norm := opt.ClipGradNorm(cpu, g.Data, maxNorm)
		clipped = clipped || norm > maxNorm
		if want := refFloats(t, c.f, "clip.norm_step"+strconv.Itoa(s))[0]; math.Abs(norm-float64(want)) > 1e-3*float64(want) {
			t.Errorf("step %d: grad norm %.6f, reference %.6f", s, norm, want)
		}
		if err := opt.Update(cpu, m.Params.Data, g.Data, lr); err != nil {
			t.Fatal(err)
		}
	}
	if !clipped {
		t.Error("the fixture never clipped; the clipping path is untested")
	}
	// Adam divides by √v, so on parameters whose gradients are near zero it
	// amplifies rounding: the reference's own float32 run differs from its
	// float64 run by 2.2e-4 here (README). Hence the gradients' tolerance.
	worst := 0.0
	for _, p := range m.Params.Tensors() {
		want := refFloats(t, c.f, "adamw.transformer."+p.Name)
		r := relErr(p.Data, want)
		if r > 1e-3 {
			t.Errorf("weights %s after %d steps: relative error %.3g > 1e-3", p.Name, steps, r)
		}
		worst = math.Max(worst, r)
	}
	t.Logf("weights after %d AdamW steps: worst relative error %.3g", steps, worst)
}

func TestReferenceLoRA(t *testing.T) {
	cpu := kernels.NewCPU(0)
	defer cpu.Close()
	m := loadRefModel(t)
	c := openCase(t, "lora.safetensors")
	b := refBatch(t)
	l, err := LoadLoRA(filepath.Join(refDir, "lora_adapter"), m.Config)
	if err != nil {
		t.Fatal(err)
	}
	dl, _ := NewLoRA(m.Config, l.Config)
	e, err := NewEngine(cpu, m.Params, EngineOptions{B: b.B, T: b.T, LoRA: l, LoRAGrads: dl})
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), m.Params.Data...)
	loss, err := e.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	if r := relErr(e.Logits(), c.logits); r > 1e-4 {
		t.Errorf("logits with adapters: relative error %.3g", r)
	}
	if r := math.Abs(loss.Mean()-float64(c.loss)) / float64(c.loss); r > 1e-4 {
		t.Errorf("loss %.7f, reference %.7f", loss.Mean(), c.loss)
	}
	if err := e.Backward(float32(1 / loss.Weight)); err != nil {
		t.Fatal(err)
	}
	for _, p := range dl.Tensors() {
		want := refFloats(t, c.f, "grad."+peftPrefix+p.Name)
		if r := relErr(p.Data, want); r > 1e-3 {
			t.Errorf("grad %s: relative error %.3g > 1e-3", p.Name, r)
		}
	}
	for i := range before {
		if before[i] != m.Params.Data[i] {
			t.Fatal("the frozen base changed")
		}
	}
	l.Merge(m.Params)
	n := 0
	for name := range c.tensors {
		if !strings.HasPrefix(name, "merged.") {
			continue
		}
		p, ok := m.Params.Tensor(strings.TrimPrefix(name, "merged.transformer."))
		if !ok {
			t.Fatalf("merged tensor %q is not a parameter", name)
		}
		if r := relErr(p.Data, refFloats(t, c.f, name)); r > 1e-5 {
			t.Errorf("%s: relative error %.3g", name, r)
		}
		n++
	}
	if n == 0 {
		t.Fatal("fixture has no merged weights")
	}
	// The merged model alone gives the adapted logits.
	e2, _ := NewEngine(cpu, m.Params, EngineOptions{B: b.B, T: b.T})
	if _, err := e2.Forward(b); err != nil {
		t.Fatal(err)
	}
	if r := relErr(e2.Logits(), c.logits); r > 1e-4 {
		t.Errorf("logits of the merged model: relative error %.3g", r)
	}
}

// TestReferenceReload saves our checkpoint and has the PyTorch reference
// load it and compare logits. It runs where Debian's python3-torch is
// installed and skips elsewhere.
func TestReferenceReload(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skip("python3-torch not installed")
	}
	cpu := kernels.NewCPU(0)
	defer cpu.Close()
	m := loadRefModel(t)
	b := refBatch(t)
	// Change the weights so the check cannot pass by reading the fixture.
	for i := range m.Params.WTE {
		m.Params.WTE[i] *= 1.5
	}
	dir := filepath.Join(t.TempDir(), "saved")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	e, _ := NewEngine(cpu, m.Params, EngineOptions{B: b.B, T: b.T})
	if _, err := e.Forward(b); err != nil {
		t.Fatal(err)
	}
	ids := make([]byte, 8*len(b.Inputs))
	for i, id := range b.Inputs {
		binary.LittleEndian.PutUint64(ids[8*i:], uint64(id))
	}
	inputs := filepath.Join(t.TempDir(), "inputs.safetensors")
	err := safetensors.WriteFile(inputs, []safetensors.Tensor{
		{Name: "input_ids", DType: safetensors.I64, Shape: []int{b.B, b.T}, Data: ids},
		safetensors.Float32Tensor("logits", []int{b.B, b.T, m.Config.VocabSize}, e.Logits()),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, filepath.Join(refDir, "gpt2_reference.py"), "check", dir, inputs).CombinedOutput()
	if err != nil {
		t.Fatalf("reference check failed: %v\n%s", err, out)
	}
	t.Logf("reference: %s", strings.TrimSpace(string(out)))
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
