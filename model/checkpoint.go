package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/model/hub"
	"github.com/nebras-ai/nebras/model/safetensors"
	"github.com/nebras-ai/nebras/model/tokenizer"
)

// The files of a checkpoint in the Hugging Face layout.
const (
	ConfigFile           = "config.json"
	WeightsFile          = "model.safetensors"
	WeightsIndexFile     = "model.safetensors.index.json"
	GenerationConfigFile = "generation_config.json"
)

// Model is a GPT-2 checkpoint in memory: its configuration, weights and,
// when the checkpoint has one, its tokenizer.
type Model struct {
	Config    Config
	Params    *Params
	Tokenizer *tokenizer.Tokenizer // nil when the directory holds no vocab.json/merges.txt

	// generation is generation_config.json as read, written back unchanged
	// so a load/save round trip is byte-stable.
	generation []byte
}

// New makes a model with GPT-2's random initialisation.
func New(cfg Config, tok *tokenizer.Tokenizer, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tok != nil && tok.VocabSize() > cfg.VocabSize {
		return nil, fmt.Errorf("tokenizer has %d tokens, more than vocab_size %d", tok.VocabSize(), cfg.VocabSize)
	}
	p := NewParams(cfg)
	p.InitGPT2(seed)
	return &Model{Config: cfg, Params: p, Tokenizer: tok}, nil
}

// Open loads a model from a local directory in the Hugging Face layout, or
// from the Hugging Face hub for a reference "hf:org/name[@revision]",
// downloading into the standard cache first (or using the cache alone when
// offline).
func Open(ctx context.Context, ref string) (*Model, error) {
	dir, err := Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return Load(dir)
}

// Resolve turns a model reference into a local directory: "hf:" references
// are fetched into the Hugging Face cache, anything else is a path.
func Resolve(ctx context.Context, ref string) (string, error) {
	if !strings.HasPrefix(ref, "hf:") {
		return ref, nil
	}
	r, err := hub.ParseRef(ref)
	if err != nil {
		return "", err
	}
	dir, err := hub.NewClient().Snapshot(ctx, r,
		[]string{ConfigFile, WeightsFile, tokenizer.VocabFile, tokenizer.MergesFile},
		[]string{GenerationConfigFile})
	if err != nil {
		return "", err // already names the reference
	}
	return dir, nil
}

// Load reads a checkpoint directory: config.json, model.safetensors (or a
// sharded model.safetensors.index.json), and vocab.json + merges.txt when
// present. Tensors may be F32, F16 or BF16, with or without the
// "transformer." prefix; attention mask buffers and the tied lm_head are
// skipped.
func Load(dir string) (*Model, error) {
	cfgBytes, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	cfg, err := ParseConfig(cfgBytes)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	files, err := weightFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	p := NewParams(cfg)
	if err := readWeights(p, files); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	m := &Model{Config: cfg, Params: p}
	if _, err := os.Stat(filepath.Join(dir, tokenizer.VocabFile)); err == nil {
		if m.Tokenizer, err = tokenizer.LoadDir(dir); err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		if m.Tokenizer.VocabSize() > cfg.VocabSize {
			return nil, fmt.Errorf("load %s: tokenizer has %d tokens, more than vocab_size %d", dir, m.Tokenizer.VocabSize(), cfg.VocabSize)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, GenerationConfigFile)); err == nil {
		if !json.Valid(b) {
			return nil, fmt.Errorf("load %s: %s is not valid JSON", dir, GenerationConfigFile)
		}
		m.generation = b
	}
	return m, nil
}

// weightFiles lists the safetensors files of a checkpoint.
func weightFiles(dir string) ([]string, error) {
	single := filepath.Join(dir, WeightsFile)
	if _, err := os.Stat(single); err == nil {
		return []string{single}, nil
	}
	idx, err := os.ReadFile(filepath.Join(dir, WeightsIndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "pytorch_model.bin")); err == nil {
			return nil, errors.New("only safetensors checkpoints are read; this one has pytorch_model.bin (convert it with transformers' save_pretrained(safe_serialization=True))")
		}
		return nil, fmt.Errorf("no %s or %s", WeightsFile, WeightsIndexFile)
	}
	if err != nil {
		return nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(idx, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", WeightsIndexFile, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range index.WeightMap {
		if f != filepath.Base(f) || f == "" || f == "." || f == ".." {
			return nil, fmt.Errorf("%s: shard name %q is not a plain file name", WeightsIndexFile, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(dir, f))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", WeightsIndexFile)
	}
	return files, nil
}

// readWeights fills p from the files, checking every tensor's name and
// shape and that none is missing or given twice.
func readWeights(p *Params, files []string) error {
	want := map[string]Tensor{}
	for _, t := range p.Tensors() {
		want[t.Name] = t
	}
	got := map[string]bool{}
	for _, path := range files {
		f, err := safetensors.Open(path)
		if err != nil {
			return err
		}
		err = readFile(f, want, got, p.Config)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
	}
	var missing []string
	for name := range want {
		if !got[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("tensor %q is missing (%d missing in all)", missing[0], len(missing))
	}
	return nil
}

func readFile(f *safetensors.File, want map[string]Tensor, got map[string]bool, cfg Config) error {
	for _, info := range f.Tensors() {
		name := strings.TrimPrefix(info.Name, "transformer.")
		if strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias") {
			continue // causal-mask buffers, not parameters
		}
		if name == "lm_head.weight" {
			if !sameShape(info.Shape, []int{cfg.VocabSize, cfg.NEmbd}) {
				return fmt.Errorf("tensor %q: shape %v, want [%d %d]", info.Name, info.Shape, cfg.VocabSize, cfg.NEmbd)
			}
			continue // tied to wte
		}
		t, ok := want[name]
		if !ok {
			return fmt.Errorf("tensor %q is not a GPT-2 parameter", info.Name)
		}
		if got[name] {
			return fmt.Errorf("tensor %q appears twice", info.Name)
		}
		if !sameShape(info.Shape, t.Shape) {
			return fmt.Errorf("tensor %q: shape %v, want %v", info.Name, info.Shape, t.Shape)
		}
		switch info.DType {
		case safetensors.F32, safetensors.F16, safetensors.BF16:
		default:
			return fmt.Errorf("tensor %q: dtype %s, want F32, F16 or BF16", info.Name, info.DType)
		}
		if err := f.Float32(info.Name, t.Data); err != nil {
			return err
		}
		got[name] = true
	}
	return nil
}

func sameShape(a, b []int) bool {
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

// Save writes the model in the Hugging Face layout that
// GPT2LMHeadModel.from_pretrained reads: config.json, model.safetensors
// (F32, "transformer."-prefixed keys, lm_head left to the tie), the
// tokenizer files and generation_config.json. A new directory appears whole
// (written beside it, then renamed); in an existing one each file is
// replaced atomically. Saving is byte-stable.
func (m *Model) Save(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(filepath.Clean(dir))
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("save %s: %w", dir, err)
		}
		tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
		if err != nil {
			return fmt.Errorf("save %s: %w", dir, err)
		}
		if err := m.writeFiles(tmp); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("save %s: %w", dir, err)
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("save %s: %w", dir, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("save %s: %w", dir, err)
		}
		return nil
	}
	if err := m.writeFiles(dir); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return nil
}

func (m *Model) writeFiles(dir string) error {
	cfg, err := m.Config.MarshalJSON()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), cfg); err != nil {
		return err
	}
	var tensors []safetensors.Tensor
	for _, t := range m.Params.Tensors() {
		tensors = append(tensors, safetensors.Float32Tensor("transformer."+t.Name, t.Shape, t.Data))
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if m.Tokenizer != nil {
		if err := m.Tokenizer.Save(dir); err != nil {
			return err
		}
	}
	gen := m.generation
	if gen == nil {
		gen = []byte(fmt.Sprintf("{\n  \"_from_model_config\": true,\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d\n}\n",
			m.Config.BOSTokenID, m.Config.EOSTokenID))
	}
	return atomicfile.WriteFile(filepath.Join(dir, GenerationConfigFile), gen)
}
