package model

import (
	"math/rand/v2"
	"testing"

	"github.com/nebras-ai/nebras/model/kernels"
)

// BenchmarkTrainStep times one full training step (forward, backward,
// gradient clipping and AdamW) at B=4, T=64, the shape
// ci/bench/model-bench.sh compares with PyTorch.
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range []string{"tiny", "124M"} {
		b.Run(name, func(b *testing.B) {
			cfg, _ := NamedConfig(name)
			benchTrainStep(b, cfg, 4, 64)
		})
	}
}

func benchTrainStep(b *testing.B, cfg Config, B, T int) {
	cpu := kernels.NewCPU(0)
	defer cpu.Close()
	m, err := New(cfg, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	g := NewParams(cfg)
	e, err := NewEngine(cpu, m.Params, EngineOptions{B: B, T: T, Grads: g})
	if err != nil {
		b.Fatal(err)
	}
	opt, _ := NewAdamW(len(g.Data), m.Params.DecayMask(), DefaultAdamW)
	batch := randomBatch(rand.New(rand.NewPCG(1, 1)), B, T, cfg.VocabSize)
	for i := range batch.Weights {
		batch.Weights[i] = 1
	}
	step := func() {
		g.Zero()
		l, err := e.Forward(batch)
		if err != nil {
			b.Fatal(err)
		}
		e.Backward(float32(1 / l.Weight))
		opt.ClipGradNorm(cpu, g.Data, 1)
		opt.Update(cpu, m.Params.Data, g.Data, 1e-4)
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkDecode times single-stream greedy decoding with the KV cache:
// a 32-token prompt (not timed), then 64 tokens, one at a time. It reports
// decode tokens/s and the weight bytes streamed per second.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"tiny", "124M"} {
		b.Run(name, func(b *testing.B) {
			cfg, _ := NamedConfig(name)
			cpu := kernels.NewCPU(0)
			defer cpu.Close()
			m, err := New(cfg, nil, 1)
			if err != nil {
				b.Fatal(err)
			}
			d, err := NewDecoder(cpu, m.Params, 1, 128, 0)
			if err != nil {
				b.Fatal(err)
			}
			prompt := make([]int32, 32)
			for i := range prompt {
				prompt[i] = int32(i * 7)
			}
			const steps = 64
			tok := make([]int32, 1)
			seqs := []int{0}
			toks := [][]int32{tok}
			run := func() {
				b.StopTimer()
				d.Reset(0)
				logits, err := d.Step(seqs, [][]int32{prompt})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for s := 0; s < steps; s++ {
					tok[0] = argmax(logits)
					if logits, err = d.Step(seqs, toks); err != nil {
						b.Fatal(err)
					}
				}
			}
			run()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
			perToken := b.Elapsed().Seconds() / float64(b.N*steps)
			b.ReportMetric(1/perToken, "tokens/s")
			// Each token reads every weight once: this over the machine's
			// memory bandwidth is how close decoding is to its limit.
			b.ReportMetric(float64(4*cfg.NumParams())/perToken/1e9, "weight-GB/s")
		})
	}
}
