package batcher

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/tokenizer"
)

// BenchmarkScheduler measures the throughput of the decode loop for a
// random "small" GPT-2 (6 layers, 384 wide) at several client
// concurrencies, with batching off (MaxBatch 1) and on. One op is one
// request of 32 new tokens after a 20-token prompt.
func BenchmarkScheduler(b *testing.B) {
	tok, err := tokenizer.GPT2()
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := model.NamedConfig("small")
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.New(cfg, tok, 1)
	if err != nil {
		b.Fatal(err)
	}
	cpu := newCPU(b)
	prompt := "Customer: Hello, my parcel has not arrived and the tracking page shows nothing.\nAgent:"
	for _, maxBatch := range []int{1, 32} {
		for _, conc := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("MaxBatch=%d/concurrency=%d", maxBatch, conc), func(b *testing.B) {
				s := newScheduler(b, m, cpu, Options{MaxBatch: maxBatch, QueueSize: 64})
				var next, tokens atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range conc {
					wg.Go(func() {
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							st, err := s.Submit(context.Background(), Request{
								Prompt: prompt, MaxTokens: 32,
								Sampling: model.Sampling{Temperature: 1, Seed: uint64(i)},
							})
							if err != nil {
								b.Error(err)
								return
							}
							res, err := st.Wait()
							if err != nil {
								b.Error(err)
								return
							}
							tokens.Add(int64(res.CompletionTokens))
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(tokens.Load())/sec, "tokens/s")
				b.ReportMetric(float64(b.N)/sec, "requests/s")
			})
		}
	}
}
