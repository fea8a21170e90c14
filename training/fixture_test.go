package training

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/pipelines"
	"github.com/nebras-ai/nebras/transforms/synth"
)

// fixture is a real prepared dataset, made once for the package's tests
// the way a user makes one: synthetic tickets, a small BPE tokenizer
// trained on them (vocab 384, so a tiny model trains in milliseconds),
// and the pipeline's plain loop runner.
type fixture struct {
	dir     string // the dataset
	tokDir  string // the tokenizer it was made with
	tickets string
}

var (
	fixtureOnce sync.Once
	fixtureVal  fixture
	fixtureErr  error
	fixtureRoot string
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv("NEBRAS_TRAIN_CHILD"); cfg != "" {
		os.Exit(trainChild(cfg)) // the process TestResumeAfterSIGKILLIsBitIdentical kills
	}
	root, err := os.MkdirTemp("", "nebras-training-test-")
	if err != nil {
		panic(err)
	}
	fixtureRoot = root
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

func testDataset(t testing.TB) fixture {
	t.Helper()
	f, err := buildFixtureIfNeeded()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func buildFixture(root string) (fixture, error) {
	ctx := context.Background()
	f := fixture{
		dir: filepath.Join(root, "dataset"), tokDir: filepath.Join(root, "tokenizer"),
		tickets: filepath.Join(root, "tickets.jsonl"),
	}
	o := synth.DefaultOptions()
	o.N, o.Seed = 120, 7
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, o); err != nil {
		return f, err
	}
	if err := os.WriteFile(f.tickets, buf.Bytes(), 0o644); err != nil {
		return f, err
	}
	texts := func(yield func(string) bool) {
		sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec struct {
				Turns []struct {
					Text string `json:"text"`
				} `json:"turns"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			for _, m := range rec.Turns {
				if !yield(m.Text) {
					return
				}
			}
		}
	}
	tok, err := tokenizer.Train(ctx, texts, tokenizer.TrainOptions{VocabSize: 384})
	if err != nil {
		return f, err
	}
	if err := tok.Save(f.tokDir); err != nil {
		return f, err
	}
	po := pipelines.DefaultOptions()
	po.Inputs, po.Output, po.Runner = []string{f.tickets}, f.dir, pipelines.RunnerLoop
	po.Tokenizer, po.MaxSeqLen = f.tokDir, 96
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := pipelines.Run(ctx, po, log); err != nil {
		return f, err
	}
	return f, nil
}

var gpt2 = sync.OnceValues(tokenizer.GPT2)

func mustGPT2(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := gpt2()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
