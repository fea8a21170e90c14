package training

import (
	"os"
	"sync"
	"testing"

	fx "github.com/nebras-ai/nebras/internal/fixture"
	"github.com/nebras-ai/nebras/model/tokenizer"
)

// fixture is a real prepared dataset, made once for the package's tests
// (internal/fixture: synthetic tickets, a 384-token tokenizer, the loop
// runner).
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
	d, err := fx.Build(root, fx.Options{})
	return fixture{dir: d.Dir, tokDir: d.Tokenizer, tickets: d.Tickets}, err
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
