package training

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var updateCard = flag.Bool("update-card", false, "rewrite testdata/card.golden.md")

func goldenCard() Card {
	return Card{
		ModelName: "nebras-support-bot",
		Base:      "hf:openai-community/gpt2",
		BaseRef:   "hf:openai-community/gpt2@607a30d783dfa663caf39e06633721c8d4cfcd7e",
		Dataset: CardDataset{
			Name:   "support-tickets",
			Digest: "sha256:9f2c1e0b7a",
			Path:   "/data/prepared/support-tickets",
			Rows:   12345,
			Tokens: 1234567,
		},
		Method: "lora",
		LoRA:   &CardLoRA{Rank: 8, Alpha: 16, Targets: []string{"c_attn", "c_proj"}},
		Hyper: []KV{
			{"lr", "0.0003"},
			{"batch_size", "8"},
			{"seq_len", "512"},
			{"schedule", "cosine"},
			{"odd|key", "a\nb"},
		},
		Metrics: []KV{
			{"train_loss", "1.84"},
			{"val_loss", "1.97"},
			{"val_perplexity", "7.17"},
		},
		RunID:          "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		TrackingURI:    "file:///work/mlruns",
		ExperimentName: "support-bot",
		Created:        time.Date(2025, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600)),
		Tokenizer:      "gpt2",
		ChatTemplate:   "nebras-plain-v1",
	}
}

func TestWriteCardGolden(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCard(dir, goldenCard()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, CardFile))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "card.golden.md")
	if *updateCard {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-card to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("card differs from %s (run with -update-card to accept):\n%s", golden, got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("WriteCard left %d files, want only %s", len(entries), CardFile)
	}
	// Rendering is a function of the card alone.
	again, err := goldenCard().Markdown()
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("a second rendering differs: %v", err)
	}
}

// frontMatter parses the card's YAML front matter.
func cardFrontMatter(t *testing.T, card []byte) map[string]any {
	t.Helper()
	rest, ok := bytes.CutPrefix(card, []byte("---\n"))
	if !ok {
		t.Fatalf("card does not start with front matter:\n%s", card)
	}
	fm, _, ok := bytes.Cut(rest, []byte("\n---\n"))
	if !ok {
		t.Fatalf("front matter is not closed:\n%s", card)
	}
	var m map[string]any
	if err := yaml.Unmarshal(fm, &m); err != nil {
		t.Fatalf("front matter: %v", err)
	}
	return m
}

func TestCardVariants(t *testing.T) {
	for _, c := range []struct {
		name      string
		edit      func(*Card)
		baseModel string   // "" for none
		contains  []string // in the Markdown
		absent    []string
	}{
		{
			name:      "hub base",
			edit:      func(*Card) {},
			baseModel: "openai-community/gpt2",
			contains:  []string{"resolved to `hf:openai-community/gpt2@607a30d", "rank 8, alpha 16, on `c_attn`, `c_proj`", `| odd\|key | a b |`, "12,345 training examples, 1,234,567 tokens", "2025-03-14T14:09:26Z"},
		},
		{
			name: "registry base pinned",
			edit: func(c *Card) {
				c.Base, c.BaseRef = "models:/nebras-support-bot@production", "models:/nebras-support-bot/3"
			},
			baseModel: "models:/nebras-support-bot/3",
			contains:  []string{"`models:/nebras-support-bot@production`, resolved to `models:/nebras-support-bot/3`"},
		},
		{
			name:      "registry base",
			edit:      func(c *Card) { c.Base, c.BaseRef = "models:/bot/2", "" },
			baseModel: "models:/bot/2",
			absent:    []string{"resolved to"},
		},
		{
			name:     "local base, full fine-tuning",
			edit:     func(c *Card) { c.Base, c.BaseRef, c.Method, c.LoRA = "/models/gpt2", "", "full", nil },
			contains: []string{"`/models/gpt2`", "full fine-tuning"},
			absent:   []string{"LoRA"},
		},
		{
			name:     "from scratch",
			edit:     func(c *Card) { c.Base, c.BaseRef, c.Method, c.LoRA = "scratch:tiny", "", "full", nil },
			contains: []string{"randomly initialised GPT-2 (`scratch:tiny`)"},
		},
		{
			name: "http tracking, other template, no metrics",
			edit: func(c *Card) {
				c.TrackingURI, c.ChatTemplate, c.Metrics = "https://mlflow.example.com", "other-v2", nil
			},
			baseModel: "openai-community/gpt2",
			contains:  []string{"`https://mlflow.example.com`", "`other-v2` (see the training dataset's manifest)"},
			absent:    []string{"mlflow ui", "## Results", "Customer: It is 48213."},
		},
		{
			name:      "untracked, backticks in a name",
			edit:      func(c *Card) { c.RunID, c.Dataset.Digest = "", "a`b" },
			baseModel: "openai-community/gpt2",
			contains:  []string{"`` a`b ``"},
			absent:    []string{"## MLflow"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			card := goldenCard()
			c.edit(&card)
			md, err := card.Markdown()
			if err != nil {
				t.Fatal(err)
			}
			fm := cardFrontMatter(t, md)
			if fm["library_name"] != "transformers" || fm["pipeline_tag"] != "text-generation" {
				t.Errorf("front matter %v", fm)
			}
			if tags, _ := fm["tags"].([]any); len(tags) != 3 || tags[0] != "nebras" || tags[1] != "gpt2" || tags[2] != "support" {
				t.Errorf("tags %v", fm["tags"])
			}
			got, _ := fm["base_model"].(string)
			if got != c.baseModel {
				t.Errorf("base_model %q, want %q", got, c.baseModel)
			}
			for _, s := range c.contains {
				if !bytes.Contains(md, []byte(s)) {
					t.Errorf("card lacks %q:\n%s", s, md)
				}
			}
			for _, s := range c.absent {
				if bytes.Contains(md, []byte(s)) {
					t.Errorf("card has %q:\n%s", s, md)
				}
			}
		})
	}
}

func TestCardRefusesIncompleteCards(t *testing.T) {
	for _, c := range []struct {
		edit func(*Card)
		want string
	}{
		{func(c *Card) { c.ModelName = " " }, "no model name"},
		{func(c *Card) { c.ModelName = "a\nb" }, "spans lines"},
		{func(c *Card) { c.Method = "qlora" }, `method "qlora"`},
		{func(c *Card) { c.LoRA = nil }, "without LoRA settings"},
		{func(c *Card) { c.Method = "full" }, "full with LoRA"},
	} {
		card := goldenCard()
		c.edit(&card)
		dir := t.TempDir()
		err := WriteCard(dir, card)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
		if _, serr := os.Stat(filepath.Join(dir, CardFile)); serr == nil {
			t.Errorf("%q: a card was written anyway", c.want)
		}
	}
}
