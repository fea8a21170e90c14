package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/safetensors"
	"github.com/nebras-ai/nebras/model/tokenizer"
)

// testConfig is a small model with the odd sizes that catch stride bugs.
func testConfig() Config {
	return Config{VocabSize: 61, NPositions: 24, NEmbd: 30, NLayer: 2, NHead: 3, LayerNormEps: 1e-5, InitializerRange: 0.02, BOSTokenID: 0, EOSTokenID: 0}
}

func randomBatch(rng *rand.Rand, B, T, V int) Batch {
	b := Batch{B: B, T: T, Inputs: make([]int32, B*T), Targets: make([]int32, B*T), Weights: make([]float32, B*T)}
	for i := range b.Inputs {
		b.Inputs[i] = int32(rng.IntN(V))
		b.Targets[i] = int32(rng.IntN(V))
		if rng.IntN(4) > 0 {
			b.Weights[i] = 1
		}
	}
	b.Weights[0] = 1
	return b
}

func newTestModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(cfg, nil, seed)
	if err != nil {
		t.Fatal(err)
	}
	// Perturb LayerNorms and biases so every path carries signal.
	rng := rand.New(rand.NewPCG(seed, 9))
	for _, p := range m.Params.Tensors() {
		if len(p.Shape) == 1 {
			for i := range p.Data {
				p.Data[i] += float32(rng.NormFloat64() * 0.05)
			}
		}
	}
	return m
}

func TestSaveLoadSaveIsByteStable(t *testing.T) {
	tok, err := tokenizer.GPT2()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.VocabSize = tok.VocabSize()
	m, err := New(cfg, tok, 7)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	if err := m.Save(d1); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(d1)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Tokenizer == nil || m2.Tokenizer.Hash() != tok.Hash() {
		t.Fatal("tokenizer did not round-trip")
	}
	if err := m2.Save(d2); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, WeightsFile, GenerationConfigFile, tokenizer.VocabFile, tokenizer.MergesFile} {
		a, err1 := os.ReadFile(filepath.Join(d1, f))
		b, err2 := os.ReadFile(filepath.Join(d2, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after load and save", f)
		}
	}
	cfgJSON, _ := os.ReadFile(filepath.Join(d1, ConfigFile))
	for _, want := range []string{`"architectures": [`, `"GPT2LMHeadModel"`, `"model_type": "gpt2"`, `"activation_function": "gelu_new"`} {
		if !strings.Contains(string(cfgJSON), want) {
			t.Errorf("config.json lacks %s", want)
		}
	}
	f, err := safetensors.Open(filepath.Join(d1, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata()["format"] != "pt" {
		t.Error(`transformers refuses safetensors without metadata format "pt"`)
	}
	if _, ok := f.Tensor("transformer.h.1.mlp.c_proj.weight"); !ok {
		t.Error("keys are not transformer.-prefixed")
	}
}

// writeCheckpoint writes a config and the given tensors as a checkpoint.
func writeCheckpoint(t *testing.T, cfg Config, tensors []safetensors.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := cfg.MarshalJSON()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), tensors, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func toHalf(t *testing.T, name string, shape []int, data []float32, bf bool) safetensors.Tensor {
	t.Helper()
	out := make([]byte, 2*len(data))
	for i, v := range data {
		var h uint16
		if bf {
			h = uint16(math.Float32bits(v) >> 16) // truncation is fine for the test values
		} else {
			h = float32ToHalf(v)
		}
		binary.LittleEndian.PutUint16(out[2*i:], h)
	}
	dt := safetensors.F16
	if bf {
		dt = safetensors.BF16
	}
	return safetensors.Tensor{Name: name, DType: dt, Shape: shape, Data: out}
}

// float32ToHalf converts normal values in half range, rounding to nearest.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	if f == 0 {
		return sign
	}
	if exp <= 0 { // subnormal half: flush for the test's purposes
		return sign
	}
	h := sign | uint16(exp)<<10 | uint16(mant>>13)
	if mant&0x1000 != 0 {
		h++
	}
	return h
}

func TestLoadVariants(t *testing.T) {
	cfg := testConfig()
	m := newTestModel(t, cfg, 1)
	var plain, prefixed, f16, bf16 []safetensors.Tensor
	for _, p := range m.Params.Tensors() {
		plain = append(plain, safetensors.Float32Tensor(p.Name, p.Shape, p.Data))
		prefixed = append(prefixed, safetensors.Float32Tensor("transformer."+p.Name, p.Shape, p.Data))
		f16 = append(f16, toHalf(t, p.Name, p.Shape, p.Data, false))
		bf16 = append(bf16, toHalf(t, "transformer."+p.Name, p.Shape, p.Data, true))
	}
	// The buffers and the tied head that Hugging Face files may carry.
	mask := make([]float32, cfg.NPositions*cfg.NPositions)
	plain = append(plain, safetensors.Float32Tensor("h.0.attn.bias", []int{1, 1, cfg.NPositions, cfg.NPositions}, mask),
		safetensors.Float32Tensor("h.0.attn.masked_bias", []int{}, []float32{-1e4}))
	prefixed = append(prefixed, safetensors.Float32Tensor("lm_head.weight", []int{cfg.VocabSize, cfg.NEmbd}, m.Params.WTE))
	for _, tc := range []struct {
		name    string
		tensors []safetensors.Tensor
		tol     float64
	}{
		{"no prefix with buffers", plain, 0},
		{"prefixed with lm_head", prefixed, 0},
		{"F16", f16, 1e-3},
		{"BF16", bf16, 1e-2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(writeCheckpoint(t, cfg, tc.tensors))
			if err != nil {
				t.Fatal(err)
			}
			if r := relErr(got.Params.Data, m.Params.Data); r > tc.tol {
				t.Errorf("relative error %.3g > %g", r, tc.tol)
			}
		})
	}
}

func TestLoadRefusesBadCheckpoints(t *testing.T) {
	cfg := testConfig()
	m := newTestModel(t, cfg, 1)
	good := func() []safetensors.Tensor {
		var ts []safetensors.Tensor
		for _, p := range m.Params.Tensors() {
			ts = append(ts, safetensors.Float32Tensor(p.Name, p.Shape, p.Data))
		}
		return ts
	}
	for _, tc := range []struct {
		name   string
		edit   func([]safetensors.Tensor) []safetensors.Tensor
		config string
		want   string
	}{
		{"missing tensor", func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[1:] }, "", `tensor "wte.weight" is missing`},
		{"wrong shape", func(ts []safetensors.Tensor) []safetensors.Tensor {
			ts[2] = safetensors.Float32Tensor(ts[2].Name, []int{cfg.NEmbd - 1}, make([]float32, cfg.NEmbd-1))
			return ts
		}, "", `tensor "h.0.ln_1.weight": shape [29], want [30]`},
		{"stranger", func(ts []safetensors.Tensor) []safetensors.Tensor {
			return append(ts, safetensors.Float32Tensor("h.0.mlp.gate.weight", []int{1}, []float32{1}))
		}, "", `tensor "h.0.mlp.gate.weight" is not a GPT-2 parameter`},
		{"twice", func(ts []safetensors.Tensor) []safetensors.Tensor {
			return append(ts, safetensors.Float32Tensor("transformer."+ts[0].Name, ts[0].Shape, m.Params.WTE))
		}, "", `appears twice`},
		{"int dtype", func(ts []safetensors.Tensor) []safetensors.Tensor {
			ts[3] = safetensors.Tensor{Name: ts[3].Name, DType: safetensors.I32, Shape: ts[3].Shape, Data: make([]byte, 4*cfg.NEmbd)}
			return ts
		}, "", `dtype I32, want F32, F16 or BF16`},
		{"other activation", nil, `{"vocab_size":61,"n_positions":24,"n_embd":30,"n_layer":2,"n_head":3,"activation_function":"relu"}`, "activation_function"},
		{"heads do not divide", nil, `{"vocab_size":61,"n_positions":24,"n_embd":30,"n_layer":2,"n_head":4}`, "not a multiple of n_head"},
		{"untied", nil, `{"vocab_size":61,"n_positions":24,"n_embd":30,"n_layer":2,"n_head":3,"tie_word_embeddings":false}`, "tie_word_embeddings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := good()
			if tc.edit != nil {
				ts = tc.edit(ts)
			}
			dir := writeCheckpoint(t, cfg, ts)
			if tc.config != "" {
				os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tc.config), 0o644)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestGradientsMatchFiniteDifferences checks backward against the
// definition of the derivative, independently of the fixtures, on every
// tensor of a model with LoRA adapters too.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	cfg := Config{VocabSize: 13, NPositions: 8, NEmbd: 12, NLayer: 2, NHead: 2, LayerNormEps: 1e-5, InitializerRange: 0.2}
	m := newTestModel(t, cfg, 3)
	rng := rand.New(rand.NewPCG(5, 5))
	b := randomBatch(rng, 2, 5, cfg.VocabSize)
	g := NewParams(cfg)
	e, _ := NewEngine(cpu, m.Params, EngineOptions{B: 2, T: 5, Grads: g})
	loss, _ := e.Forward(b)
	e.Backward(float32(1 / loss.Weight))
	lossAt := func() float64 {
		l, _ := e.Forward(b)
		return l.Mean()
	}
	for _, p := range m.Params.Tensors() {
		gt, _ := g.Tensor(p.Name)
		for _, i := range []int{0, len(p.Data) / 2, len(p.Data) - 1} {
			old := p.Data[i]
			h := float32(1e-2)
			p.Data[i] = old + h
			up := lossAt()
			p.Data[i] = old - h
			down := lossAt()
			p.Data[i] = old
			num := (up - down) / (2 * float64(h))
			if d := math.Abs(num - float64(gt.Data[i])); d > 2e-3+0.02*math.Abs(num) {
				t.Errorf("%s[%d]: backward %.6f, finite difference %.6f", p.Name, i, gt.Data[i], num)
			}
		}
	}
}

// TestTrainingIsBitIdenticalAcrossThreads: the same seed and data give the
// same weights whether one core or several do the work.
func TestTrainingIsBitIdenticalAcrossThreads(t *testing.T) {
	cfg := testConfig()
	run := func(threads int) []float32 {
		cpu := kernels.NewCPU(threads)
		defer cpu.Close()
		m := newTestModel(t, cfg, 11)
		g := NewParams(cfg)
		e, _ := NewEngine(cpu, m.Params, EngineOptions{B: 3, T: 20, Grads: g})
		opt, _ := NewAdamW(len(g.Data), m.Params.DecayMask(), DefaultAdamW)
		rng := rand.New(rand.NewPCG(1, 2))
		for s := 0; s < 4; s++ {
			b := randomBatch(rng, 3, 20, cfg.VocabSize)
			g.Zero()
			l, err := e.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			e.Backward(float32(1 / l.Weight))
			opt.ClipGradNorm(cpu, g.Data, 1)
			opt.Update(cpu, m.Params.Data, g.Data, 1e-3)
		}
		return m.Params.Data
	}
	one := run(1)
	for _, n := range []int{2, 3, 5} {
		other := run(n)
		for i := range one {
			if math.Float32bits(one[i]) != math.Float32bits(other[i]) {
				t.Fatalf("threads=%d: weight %d is %v, threads=1 gives %v", n, i, other[i], one[i])
			}
		}
	}
}

func TestTrainingStepDoesNotAllocate(t *testing.T) {
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	cfg := testConfig()
	m := newTestModel(t, cfg, 1)
	g := NewParams(cfg)
	e, _ := NewEngine(cpu, m.Params, EngineOptions{B: 2, T: 16, Grads: g})
	opt, _ := NewAdamW(len(g.Data), m.Params.DecayMask(), DefaultAdamW)
	b := randomBatch(rand.New(rand.NewPCG(1, 1)), 2, 16, cfg.VocabSize)
	step := func() {
		g.Zero()
		l, _ := e.Forward(b)
		e.Backward(float32(1 / l.Weight))
		opt.ClipGradNorm(cpu, g.Data, 1)
		opt.Update(cpu, m.Params.Data, g.Data, 1e-3)
	}
	step()
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("training step allocates %.0f times", n)
	}
}

func TestBatchValidation(t *testing.T) {
	cpu := kernels.NewCPU(1)
	defer cpu.Close()
	cfg := testConfig()
	m := newTestModel(t, cfg, 1)
	e, _ := NewEngine(cpu, m.Params, EngineOptions{B: 2, T: 4})
	ok := Batch{B: 1, T: 2, Inputs: []int32{1, 2}, Targets: []int32{2, -1}}
	if _, err := e.Forward(ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    Batch
		want string
	}{
		{Batch{B: 1, T: 5, Inputs: make([]int32, 5), Targets: make([]int32, 5)}, "does not fit"},
		{Batch{B: 1, T: 2, Inputs: []int32{1, 61}, Targets: []int32{1, 1}}, "input token 61"},
		{Batch{B: 1, T: 2, Inputs: []int32{1, 1}, Targets: []int32{1, 99}}, "target token 99"},
		{Batch{B: 1, T: 2, Inputs: []int32{1, 1}, Targets: []int32{1, -1}, Weights: []float32{1, 1}}, "no target"},
		{Batch{B: 1, T: 2, Inputs: []int32{1}, Targets: []int32{1, 1}}, "want 2 each"},
	} {
		if _, err := e.Forward(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// TestDecoderMatchesFullForward: the KV-cache path gives the logits of a
// full forward pass, whether a sequence arrives whole, token by token, or
// batched with others of different lengths.
func TestDecoderMatchesFullForward(t *testing.T) {
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	cfg := testConfig()
	m := newTestModel(t, cfg, 4)
	rng := rand.New(rand.NewPCG(2, 2))
	seqs := [][]int32{make([]int32, 9), make([]int32, 4), make([]int32, 14)}
	for _, s := range seqs {
		for i := range s {
			s[i] = int32(rng.IntN(cfg.VocabSize))
		}
	}
	// Reference: full forward of every prefix's last position.
	full := func(s []int32) []float32 {
		e, _ := NewEngine(cpu, m.Params, EngineOptions{B: 1, T: len(s)})
		tg := make([]int32, len(s))
		if _, err := e.Forward(Batch{B: 1, T: len(s), Inputs: s, Targets: tg}); err != nil {
			t.Fatal(err)
		}
		V := cfg.VocabSize
		return append([]float32(nil), e.Logits()[(len(s)-1)*V:]...)
	}
	d, err := NewDecoder(cpu, m.Params, 3, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	V := cfg.VocabSize
	// Prefill the first 3 tokens of each, then decode the rest together,
	// sequences dropping out as they end.
	for i, s := range seqs {
		if _, err := d.Step([]int{i}, [][]int32{s[:3]}); err != nil {
			t.Fatal(err)
		}
	}
	for pos := 3; ; pos++ {
		var ids []int
		var toks [][]int32
		for i, s := range seqs {
			if pos < len(s) {
				ids = append(ids, i)
				toks = append(toks, s[pos:pos+1])
			}
		}
		if len(ids) == 0 {
			break
		}
		logits, err := d.Step(ids, toks)
		if err != nil {
			t.Fatal(err)
		}
		for j, i := range ids {
			want := full(seqs[i][:pos+1])
			if r := relErr(logits[j*V:(j+1)*V], want); r > 1e-5 {
				t.Fatalf("seq %d pos %d: relative error %.3g", i, pos, r)
			}
		}
	}
	if _, err := d.Step([]int{0}, [][]int32{make([]int32, cfg.NPositions)}); err == nil {
		t.Error("overfilling a sequence was accepted")
	}
}

func TestGenerateIsReproducibleAndBatchIndependent(t *testing.T) {
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	cfg := testConfig()
	m := newTestModel(t, cfg, 4)
	prompts := [][]int32{{1, 2, 3}, {4, 5, 6, 7, 8, 9, 10, 11}, {12}}
	opt := GenerateOptions{MaxNewTokens: 10, Sampling: Sampling{Temperature: 0.9, TopK: 20, TopP: 0.9, RepetitionPenalty: 1.2, Seed: 42}, StopTokens: []int32{}}
	a, err := m.Generate(context.Background(), cpu, prompts, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Generate(context.Background(), cpu, prompts, opt)
	for i := range a {
		if len(a[i].Tokens) != 10 || a[i].FinishReason != FinishLength {
			t.Errorf("prompt %d: %d tokens, finish %q", i, len(a[i].Tokens), a[i].FinishReason)
		}
		if !equalInt32(a[i].Tokens, b[i].Tokens) {
			t.Errorf("prompt %d: two runs differ: %v vs %v", i, a[i].Tokens, b[i].Tokens)
		}
		// Alone, or one at a time, a prompt gets the same tokens.
		one, _ := m.Generate(context.Background(), cpu, prompts[i:i+1], opt)
		if !equalInt32(one[0].Tokens, a[i].Tokens) {
			t.Errorf("prompt %d: alone %v, batched %v", i, one[0].Tokens, a[i].Tokens)
		}
	}
	opt.Seed = 43
	c, _ := m.Generate(context.Background(), cpu, prompts, opt)
	same := true
	for i := range a {
		same = same && equalInt32(a[i].Tokens, c[i].Tokens)
	}
	if same {
		t.Error("a different seed gave the same samples")
	}
	// A prompt longer than the context is cut from the left, not refused.
	long := make([]int32, 40)
	g, err := m.Generate(context.Background(), cpu, [][]int32{long}, GenerateOptions{MaxNewTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	if g[0].Truncated != 40-(cfg.NPositions-5) || g[0].PromptTokens != cfg.NPositions-5 {
		t.Errorf("truncation: kept %d, dropped %d", g[0].PromptTokens, g[0].Truncated)
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSamplerRules(t *testing.T) {
	logits := func() []float32 { return []float32{1, 3, 2, 0.5, -1} }
	if got := NewSampler(Sampling{}).Next(logits(), nil); got != 1 {
		t.Errorf("greedy picked %d", got)
	}
	// The penalty divides the leader's logit 3 → 1.5 < 2.
	if got := NewSampler(Sampling{RepetitionPenalty: 2}).Next(logits(), []int32{1}); got != 2 {
		t.Errorf("repetition penalty: picked %d", got)
	}
	// top-k 2 only ever yields the two best.
	s := NewSampler(Sampling{Temperature: 5, TopK: 2, Seed: 1})
	seen := map[int32]int{}
	for i := 0; i < 2000; i++ {
		seen[s.Next(logits(), nil)]++
	}
	if len(seen) != 2 || seen[1] == 0 || seen[2] == 0 {
		t.Errorf("top-k 2 sampled %v", seen)
	}
	// top-p small keeps the single best.
	s = NewSampler(Sampling{Temperature: 1, TopP: 0.1, Seed: 1})
	for i := 0; i < 100; i++ {
		if got := s.Next(logits(), nil); got != 1 {
			t.Fatalf("top-p 0.1 sampled %d", got)
		}
	}
	// Plain sampling follows the softmax: P(1) = e^3/Σ ≈ 0.61.
	s = NewSampler(Sampling{Temperature: 1, Seed: 3})
	n := 0
	for i := 0; i < 20000; i++ {
		if s.Next(logits(), nil) == 1 {
			n++
		}
	}
	var z float64
	for _, v := range logits() {
		z += math.Exp(float64(v))
	}
	if p := float64(n) / 20000; math.Abs(p-math.Exp(3)/z) > 0.015 {
		t.Errorf("P(argmax) = %.3f, want %.3f", p, math.Exp(3)/z)
	}
}

func TestLoRASaveLoadAndInitIsIdentity(t *testing.T) {
	cpu := kernels.NewCPU(1)
	defer cpu.Close()
	cfg := testConfig()
	m := newTestModel(t, cfg, 2)
	l, err := NewLoRA(cfg, LoRAConfig{Rank: 2, Alpha: 4, Targets: []string{"c_attn", "mlp.c_proj"}})
	if err != nil {
		t.Fatal(err)
	}
	l.Init(1)
	b := randomBatch(rand.New(rand.NewPCG(1, 1)), 1, 6, cfg.VocabSize)
	e0, _ := NewEngine(cpu, m.Params, EngineOptions{B: 1, T: 6})
	e1, _ := NewEngine(cpu, m.Params, EngineOptions{B: 1, T: 6, LoRA: l})
	l0, _ := e0.Forward(b)
	l1, _ := e1.Forward(b)
	if l0 != l1 {
		t.Errorf("freshly initialised adapters change the loss: %v vs %v", l0, l1)
	}
	for i := range l.Data {
		l.Data[i] += 0.01 * float32(i%7)
	}
	dir := t.TempDir()
	if err := l.Save(dir, "base"); err != nil {
		t.Fatal(err)
	}
	back, err := LoadLoRA(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config.Rank != 2 || back.Config.Alpha != 4 || len(back.Data) != len(l.Data) {
		t.Fatalf("config did not round-trip: %+v", back.Config)
	}
	for i := range l.Data {
		if back.Data[i] != l.Data[i] {
			t.Fatal("adapter weights did not round-trip")
		}
	}
	if back.Blocks[0].AttnProj != nil || back.Blocks[0].FCProj == nil {
		t.Error("qualified target mlp.c_proj adapted the wrong modules")
	}
}

// TestTrainingLearns: full fine-tuning and LoRA both drive the loss on a
// fixed batch well down, so the pieces work together, not only one by one.
func TestTrainingLearns(t *testing.T) {
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	cfg := testConfig()
	// Embeddings big enough that the frozen, tied LM head can express
	// confident logits; at GPT-2's 0.02 and width 30 it cannot, and only
	// full fine-tuning could fit anything.
	cfg.InitializerRange = 0.3
	b := randomBatch(rand.New(rand.NewPCG(8, 8)), 2, 16, cfg.VocabSize)
	for _, lora := range []bool{false, true} {
		m := newTestModel(t, cfg, 5)
		opt := EngineOptions{B: 2, T: 16}
		var params, grads []float32
		var decay [][2]int
		if lora {
			l, _ := NewLoRA(cfg, LoRAConfig{Rank: 4, Alpha: 8, Targets: DefaultLoRATargets})
			l.Init(1)
			dl, _ := NewLoRA(cfg, l.Config)
			opt.LoRA, opt.LoRAGrads = l, dl
			params, grads = l.Data, dl.Data
		} else {
			g := NewParams(cfg)
			opt.Grads = g
			params, grads, decay = m.Params.Data, g.Data, m.Params.DecayMask()
		}
		e, err := NewEngine(cpu, m.Params, opt)
		if err != nil {
			t.Fatal(err)
		}
		adam, _ := NewAdamW(len(params), decay, DefaultAdamW)
		var first, last float64
		for s := 0; s < 60; s++ {
			clear(grads)
			l, _ := e.Forward(b)
			if s == 0 {
				first = l.Mean()
			}
			last = l.Mean()
			e.Backward(float32(1 / l.Weight))
			adam.ClipGradNorm(cpu, grads, 1)
			adam.Update(cpu, params, grads, 1e-2)
		}
		t.Logf("lora=%v: loss %.3f → %.3f", lora, first, last)
		if last > 0.1*first {
			t.Errorf("lora=%v: loss %.3f → %.3f after 60 steps", lora, first, last)
		}
	}
}

func TestDecodeStepDoesNotAllocate(t *testing.T) {
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	m := newTestModel(t, testConfig(), 1)
	d, _ := NewDecoder(cpu, m.Params, 2, 0, 0)
	seqs, toks := []int{0, 1}, [][]int32{{1}, {2}}
	if _, err := d.Step(seqs, [][]int32{{1, 2, 3}, {4}}); err != nil {
		t.Fatal(err)
	}
	step := func() {
		if d.Len(0) >= d.MaxLen()-1 {
			d.Reset(0)
			d.Reset(1)
		}
		if _, err := d.Step(seqs, toks); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Errorf("a decode step allocates %.0f times", n)
	}
}

// referenceSample is top-k/top-p sampling the slow way: sort every token.
// The Sampler's thresholded selection must pick exactly what it picks.
func referenceSample(logits []float32, opt Sampling, rng *rand.Rand) int32 {
	inv := float32(1 / opt.Temperature)
	l := make([]float32, len(logits))
	for i, v := range logits {
		l[i] = v * inv
	}
	probs := make([]float32, len(l))
	sum := kernels.ExpShift(probs, l, l[argmax(l)], 1)
	var keep []candidate
	for i, p := range probs {
		keep = append(keep, candidate{int32(i), p})
	}
	slices.SortFunc(keep, func(a, b candidate) int {
		if a.p != b.p {
			if a.p > b.p {
				return -1
			}
			return 1
		}
		return int(a.id - b.id)
	})
	total := sum
	if opt.TopK > 0 && opt.TopK < len(keep) {
		keep = keep[:opt.TopK]
		total = 0
		for _, c := range keep {
			total += c.p
		}
	}
	if opt.TopP > 0 && opt.TopP < 1 {
		var cum float32
		for i, c := range keep {
			cum += c.p
			if float64(cum) >= opt.TopP*float64(total) {
				keep = keep[:i+1]
				break
			}
		}
	}
	var kept float32
	for _, c := range keep {
		kept += c.p
	}
	u := float32(rng.Float64()) * kept
	for _, c := range keep {
		if u -= c.p; u < 0 {
			return c.id
		}
	}
	return keep[len(keep)-1].id
}

func TestSamplerTopKTopPMatchFullSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 40 {
		V := 50 + r.IntN(5000)
		logits := make([]float32, V)
		spread := []float32{0.1, 1, 4, 20}[trial%4] // flat to peaked
		for i := range logits {
			logits[i] = float32(r.NormFloat64()) * spread
		}
		if trial%5 == 0 { // ties
			for i := range logits {
				logits[i] = float32(int(logits[i]))
			}
		}
		for _, opt := range []Sampling{
			{Temperature: 1, TopK: 1}, {Temperature: 0.7, TopK: 5}, {Temperature: 1, TopK: 50},
			{Temperature: 1, TopP: 0.1}, {Temperature: 1, TopP: 0.5}, {Temperature: 1.3, TopP: 0.9}, {Temperature: 1, TopP: 0.999},
			{Temperature: 0.8, TopK: 40, TopP: 0.95},
		} {
			opt.Seed = uint64(trial)
			s := NewSampler(opt)
			ref := rand.New(rand.NewPCG(opt.Seed, 0x6e65627261732d73))
			for draw := range 20 {
				want := referenceSample(logits, opt, ref)
				if got := s.Next(slices.Clone(logits), nil); got != want {
					t.Fatalf("trial %d %+v draw %d: sampled %d, full sort gives %d", trial, opt, draw, got, want)
				}
			}
		}
	}
}
