package metrics

import (
	"errors"
	"fmt"
	"strings"
)

// Distinct returns distinct-n (Li et al., 2016) of replies: the number of
// distinct n-grams divided by the total number of n-grams, counted over
// all replies together. Tokens are the white-space-separated fields of each
// reply after lowercasing (strings.ToLower, then strings.Fields), so
// punctuation stays attached to words; n-grams do not cross from one reply
// into the next. It returns 0 when there is no n-gram at all, or when n < 1.
func Distinct(replies []string, n int) float64 {
	if n < 1 {
		return 0
	}
	seen := make(map[string]struct{})
	total := 0
	var key strings.Builder
	for _, r := range replies {
		toks := strings.Fields(strings.ToLower(r))
		for i := 0; i+n <= len(toks); i++ {
			key.Reset()
			for k, t := range toks[i : i+n] {
				if k > 0 {
					// Fields never contain white space, so a space cannot
					// make two different n-grams collide.
					key.WriteByte(' ')
				}
				key.WriteString(t)
			}
			seen[key.String()] = struct{}{}
			total++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(len(seen)) / float64(total)
}

// ReplyStats describes generated replies on their own, without the
// references: diversity, length and how often generation failed.
type ReplyStats struct {
	Distinct1, Distinct2 float64 // Distinct(replies, 1) and Distinct(replies, 2)
	AvgTokens            float64 // mean tokens per reply (see ComputeReplyStats)
	EmptyShare           float64 // share of replies with nothing but white space
	MaxTokensShare       float64 // share of replies cut off at the generation length limit
}

// ComputeReplyStats computes ReplyStats over replies. tokens[i] is the
// number of model tokens generated for replies[i]; with tokens nil,
// AvgTokens counts white-space fields instead. truncated[i] reports
// whether replies[i] stopped at the length limit rather than at an end of
// text; nil means the replies had no such limit, and MaxTokensShare is 0.
func ComputeReplyStats(replies []string, tokens []int, truncated []bool) (ReplyStats, error) {
	if len(replies) == 0 {
		return ReplyStats{}, errors.New("reply stats: no replies")
	}
	if tokens != nil && len(tokens) != len(replies) {
		return ReplyStats{}, fmt.Errorf("reply stats: %d token counts for %d replies", len(tokens), len(replies))
	}
	if truncated != nil && len(truncated) != len(replies) {
		return ReplyStats{}, fmt.Errorf("reply stats: %d truncation flags for %d replies", len(truncated), len(replies))
	}
	var empty, cut, toks int
	for i, r := range replies {
		if strings.TrimSpace(r) == "" {
			empty++
		}
		if truncated != nil && truncated[i] {
			cut++
		}
		if tokens != nil {
			toks += tokens[i]
		} else {
			toks += len(strings.Fields(r))
		}
	}
	n := float64(len(replies))
	return ReplyStats{
		Distinct1:      Distinct(replies, 1),
		Distinct2:      Distinct(replies, 2),
		AvgTokens:      float64(toks) / n,
		EmptyShare:     float64(empty) / n,
		MaxTokensShare: float64(cut) / n,
	}, nil
}
