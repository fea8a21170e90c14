package transforms

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

// Split names a dataset partition.
type Split string

// The dataset partitions, in the order they are written and reported.
const (
	SplitTrain Split = "train"
	SplitVal   Split = "val"
	SplitTest  Split = "test"
)

// Splits lists every split in report order.
var Splits = [...]Split{SplitTrain, SplitVal, SplitTest}

// SplitRatios are the shares of conversations that go to each split.
type SplitRatios struct {
	Train float64 `json:"train"`
	Val   float64 `json:"val"`
	Test  float64 `json:"test"`
}

// DefaultSplitRatios is 90/5/5, the usual shape for fine-tuning data where
// validation only needs to be large enough to rank checkpoints.
func DefaultSplitRatios() SplitRatios { return SplitRatios{Train: 0.90, Val: 0.05, Test: 0.05} }

// Validate checks that the ratios are finite, non-negative and sum to 1.
func (r SplitRatios) Validate() error {
	for _, v := range []float64{r.Train, r.Val, r.Test} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1 {
			return fmt.Errorf("split ratios %v/%v/%v: each must be in [0,1]", r.Train, r.Val, r.Test)
		}
	}
	if s := r.Train + r.Val + r.Test; math.Abs(s-1) > 1e-9 {
		return fmt.Errorf("split ratios %v/%v/%v: must sum to 1, got %v", r.Train, r.Val, r.Test, s)
	}
	return nil
}

// AssignSplit places a conversation in a split by hashing its id with the
// salt. The assignment depends on nothing but (salt, id), so it is stable
// across runs, runners, input order and dataset growth: a conversation seen
// again in a later export lands in the same split, and no conversation's
// examples straddle two splits.
func AssignSplit(conversationID, salt string, r SplitRatios) Split {
	h := sha256.New()
	h.Write([]byte("nebras-split-v1\x00"))
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(conversationID))
	var sum [sha256.Size]byte
	// 53 bits give a uniform float64 in [0,1) with no rounding bias.
	u := float64(binary.BigEndian.Uint64(h.Sum(sum[:0]))>>11) / (1 << 53)
	switch {
	case u < r.Train:
		return SplitTrain
	case u < r.Train+r.Val || r.Test == 0:
		// Test == 0 guards against ratios whose float sum falls a hair short
		// of 1 sending a stray conversation to a split the user disabled.
		if r.Val == 0 {
			return SplitTrain
		}
		return SplitVal
	default:
		return SplitTest
	}
}
