package continual

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// Files in WORK/continual/.
const (
	// StateFile records the consumed partitions, the held-out set and
	// every finished cycle. It is written only when a cycle's outcome is
	// final (promoted or refused).
	StateFile = "state.json"
	// PendingFile records the cycle in progress: its partitions and the
	// base version it fine-tunes, so that a cycle resumed after a crash
	// trains the same thing (and finds it cached) even if production
	// moved meanwhile.
	PendingFile = "pending.json"
	// HeldOutDir holds the fixed held-out dataset: a copy of the first
	// cycle's dataset, whose eval split every cycle is evaluated on.
	HeldOutDir = "heldout"

	stateFormat = 1
)

// State is what the cycles consumed and decided.
type State struct {
	Format int `json:"format"`
	// LastCycle is the number of the last finished cycle (0: none yet).
	LastCycle int `json:"last_cycle"`
	// HeldOut is the fixed evaluation set, from the first cycle.
	HeldOut *HeldOut `json:"held_out,omitempty"`
	// Partitions are the consumed partitions, by name.
	Partitions map[string]Consumed `json:"partitions"`
	// Cycles are the finished cycles, oldest first.
	Cycles []CycleRecord `json:"cycles"`
}

// HeldOut is the fixed evaluation set.
type HeldOut struct {
	// Dataset is the directory, relative to the work directory.
	Dataset string `json:"dataset"`
	Digest  string `json:"digest"`
	Split   string `json:"split"`
	Cycle   int    `json:"cycle"`
	// SplitRatios and SplitSalt are the prepare settings that put each
	// conversation in its split. Replayed conversations are prepared
	// again each cycle; with other settings a held-out conversation could
	// land in a training split, and the gate would score the candidate on
	// what it trained on.
	SplitRatios []float64 `json:"split_ratios"`
	SplitSalt   string    `json:"split_salt"`
}

// Consumed is a partition some cycle trained on (or whose candidate it
// refused).
type Consumed struct {
	SHA256        string `json:"sha256"`
	Conversations int    `json:"conversations"`
	Cycle         int    `json:"cycle"`
	// Version is the candidate the cycle trained; Outcome is the
	// promotion's (promoted, not blessed, ...).
	Version string `json:"version"`
	Outcome string `json:"outcome"`
}

// CycleRecord is one finished cycle.
type CycleRecord struct {
	Cycle            int       `json:"cycle"`
	Finished         time.Time `json:"finished"`
	Partitions       []string  `json:"partitions"`
	NewConversations int       `json:"new_conversations"`
	Replay           int       `json:"replay"`
	Base             string    `json:"base"`
	Candidate        string    `json:"candidate_version"`
	Blessed          bool      `json:"blessed"`
	Outcome          string    `json:"outcome"`
	Production       string    `json:"production_version"`
	ParentRunID      string    `json:"parent_run_id"`
}

// pending is the cycle in progress.
type pending struct {
	Cycle      int         `json:"cycle"`
	Partitions []Partition `json:"partitions"`
	Base       string      `json:"base"`
}

// ReadState reads a state file; a missing file is the empty state.
func ReadState(path string) (*State, error) {
	s := &State{Format: stateFormat, Partitions: map[string]Consumed{}}
	if err := readJSON(path, s); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s, nil
		}
		return nil, err
	}
	if s.Format != stateFormat {
		return nil, fmt.Errorf("state %s: format %d, want %d", path, s.Format, stateFormat)
	}
	if s.Partitions == nil {
		s.Partitions = map[string]Consumed{}
	}
	return s, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
