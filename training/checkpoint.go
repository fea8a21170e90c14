package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/safetensors"
)

// A checkpoint is a directory checkpoints/step-NNNNNNNN/ holding
//
//	state.json              State: step, data position, early-stopping state, ...
//	trainable.safetensors   the trained tensors (the whole model, or the LoRA adapters)
//	optimizer.safetensors   AdamW's exp_avg and exp_avg_sq over the same tensors
//
// written in a temporary directory and renamed into place; the text files
// checkpoints/LATEST and checkpoints/BEST name the current ones and are
// replaced atomically after the directory is complete. A kill at any moment
// leaves LATEST naming a complete checkpoint.
const (
	checkpointsDir = "checkpoints"
	latestFile     = "LATEST"
	bestFile       = "BEST"
	stateFile      = "state.json"
	trainableFile  = "trainable.safetensors"
	optimizerFile  = "optimizer.safetensors"
)

// State is the training loop's state beside the tensors: enough to go on
// exactly where a checkpoint was taken.
type State struct {
	Step       int      `json:"step"`      // optimizer steps done
	AdamStep   int      `json:"adam_step"` // AdamW's bias-correction count
	Data       Position `json:"data"`      // where the next training batch starts
	TokensSeen int64    `json:"tokens_seen"`
	// TargetTokens counts the tokens under the loss mask trained on.
	TargetTokens int64   `json:"target_tokens"`
	TrainSeconds float64 `json:"train_seconds"` // wall time spent training, over all sessions

	BestValLoss   float64 `json:"best_val_loss"` // 0 until the first evaluation
	BestStep      int     `json:"best_step"`
	EvalsNoBetter int     `json:"evals_without_improvement"`
	LastValLoss   float64 `json:"last_val_loss"`
	Stopped       string  `json:"stopped,omitempty"` // why the run ended: "", "max_steps", "early_stopping", ...

	RunID      string `json:"mlflow_run_id"`
	ConfigHash string `json:"config_hash"` // what must not change across a resume
	Threads    int    `json:"threads"`
}

// checkpoint is what a checkpoint holds: views of the live buffers when
// saving, the buffers to fill when loading.
type checkpoint struct {
	State     State
	Trainable []model.Tensor
	M, V      []float32
}

func stepName(step int) string { return fmt.Sprintf("step-%08d", step) }

// saveCheckpoint writes a checkpoint of step under runDir and points LATEST
// (and BEST when best) at it, then removes checkpoints that are neither.
func saveCheckpoint(runDir string, c checkpoint, best bool) (string, error) {
	root := filepath.Join(runDir, checkpointsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	name := stepName(c.State.Step)
	final := filepath.Join(root, name)
	if _, err := os.Stat(final); err == nil {
		// Already taken at this step (e.g. a checkpoint after an eval at a
		// checkpoint step): the same state, so only the pointers move.
		return final, movePointers(root, name, best)
	}
	tmp, err := os.MkdirTemp(root, "."+name+".tmp-")
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("checkpoint %s: %w", name, err)
	}
	st, err := json.MarshalIndent(c.State, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteFile(filepath.Join(tmp, stateFile), append(st, '\n')); err != nil {
		return fail(err)
	}
	var trainable []safetensors.Tensor
	for _, t := range c.Trainable {
		trainable = append(trainable, safetensors.Float32Tensor(t.Name, t.Shape, t.Data))
	}
	if err := safetensors.WriteFile(filepath.Join(tmp, trainableFile), trainable, nil); err != nil {
		return fail(err)
	}
	opt := []safetensors.Tensor{
		safetensors.Float32Tensor("exp_avg", []int{len(c.M)}, c.M),
		safetensors.Float32Tensor("exp_avg_sq", []int{len(c.V)}, c.V),
	}
	if err := safetensors.WriteFile(filepath.Join(tmp, optimizerFile), opt, nil); err != nil {
		return fail(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	syncDir(root)
	return final, movePointers(root, name, best)
}

func movePointers(root, name string, best bool) error {
	if best {
		if err := atomicfile.WriteFile(filepath.Join(root, bestFile), []byte(name+"\n")); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(root, latestFile), []byte(name+"\n")); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	pruneCheckpoints(root)
	return nil
}

// pruneCheckpoints removes checkpoint directories LATEST and BEST do not
// name, and temporaries a kill left behind. Failures only cost disk.
func pruneCheckpoints(root string) {
	keep := map[string]bool{}
	for _, f := range []string{latestFile, bestFile} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err == nil {
			keep[strings.TrimSpace(string(b))] = true
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && !keep[e.Name()] && (strings.HasPrefix(e.Name(), "step-") || strings.HasPrefix(e.Name(), ".step-")) {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// pointedCheckpoint is the checkpoint directory LATEST or BEST (which)
// names, or "" when there is none.
func pointedCheckpoint(runDir, which string) (string, error) {
	root := filepath.Join(runDir, checkpointsDir)
	b, err := os.ReadFile(filepath.Join(root, which))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if !strings.HasPrefix(name, "step-") || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("checkpoint: %s names %q, not a checkpoint", which, name)
	}
	return filepath.Join(root, name), nil
}

// loadCheckpoint reads the checkpoint in dir into c's buffers (the
// trainable tensors, by name, and the optimizer moments) and returns its
// state. The tensors must match the run's: a checkpoint of another model
// or other LoRA settings is refused.
func loadCheckpoint(dir string, c checkpoint) (State, error) {
	var st State
	name := filepath.Base(dir)
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("checkpoint %s: %s: %w", name, stateFile, err)
	}
	tf, err := safetensors.Open(filepath.Join(dir, trainableFile))
	if err != nil {
		return st, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	defer tf.Close()
	if n := len(tf.Tensors()); n != len(c.Trainable) {
		return st, fmt.Errorf("checkpoint %s holds %d tensors, the run trains %d (made with other LoRA settings?)", name, n, len(c.Trainable))
	}
	for _, t := range c.Trainable {
		if err := tf.Float32(t.Name, t.Data); err != nil {
			return st, fmt.Errorf("checkpoint %s: %w", name, err)
		}
	}
	of, err := safetensors.Open(filepath.Join(dir, optimizerFile))
	if err != nil {
		return st, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	defer of.Close()
	if err := of.Float32("exp_avg", c.M); err != nil {
		return st, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	if err := of.Float32("exp_avg_sq", c.V); err != nil {
		return st, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return st, nil
}

// syncDir makes a rename in dir durable; best effort, as a kill (not a
// power cut) is what checkpoints must survive first.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
