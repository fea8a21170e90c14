package tokenizer

import (
	"fmt"
	"slices"
	"sync"

	"github.com/tiktoken-go/tokenizer/codec"
)

// gpt2Ranks is the number of ranked (non-special) tokens in r50k_base; the
// end-of-text token follows them.
const gpt2Ranks = 50256

// gpt2 builds the GPT-2 tokenizer once per process: deriving the merges
// takes a noticeable fraction of a second, and the result is immutable, so
// every caller can share it.
var gpt2 = sync.OnceValues(buildGPT2)

// GPT2 returns OpenAI's GPT-2 tokenizer (50257 tokens, 50000 merges,
// "<|endoftext|>" = 50256), built from the r50k_base ranks embedded in
// github.com/tiktoken-go/tokenizer, so it needs no files. Its vocab.json and
// merges.txt, as Save writes them, are those of Hugging Face's "gpt2".
// Every call returns the same Tokenizer.
func GPT2() (*Tokenizer, error) { return gpt2() }

func buildGPT2() (*Tokenizer, error) {
	c := codec.NewR50kBase()
	ranks := make([]string, gpt2Ranks)
	for id := range ranks {
		s, err := c.Decode([]uint{uint(id)})
		if err != nil {
			return nil, fmt.Errorf("tokenizer: gpt2: r50k_base rank %d: %w", id, err)
		}
		ranks[id] = s
	}
	// The special token's id must be free in the ranks, or the hard-coded
	// id below would shadow a real token.
	if _, err := c.Decode([]uint{gpt2Ranks}); err == nil {
		return nil, fmt.Errorf("tokenizer: gpt2: r50k_base has a token at %d, where %s belongs", gpt2Ranks, EndOfText)
	}
	t, err := fromRanks(ranks, []string{EndOfText})
	if err != nil {
		return nil, fmt.Errorf("tokenizer: gpt2: %w", err)
	}
	return t, nil
}

// fromRanks builds a tokenizer from tiktoken-style mergeable ranks (the bytes
// of the token with id i are ranks[i]) followed by specials.
//
// tiktoken ranks whole tokens, Hugging Face ranks pairs. The pair behind
// each multi-byte token is found by running BPE on the token's bytes with
// only the tokens ranked below it; in a vocabulary that BPE training made,
// that ends in exactly two parts, which are the pair, and the merge order is
// the rank order.
func fromRanks(ranks []string, specials []string) (*Tokenizer, error) {
	rankOf := make(map[string]int, len(ranks))
	for i, s := range ranks {
		if _, dup := rankOf[s]; dup {
			return nil, fmt.Errorf("tokens %d and %d are both %q", rankOf[s], i, s)
		}
		rankOf[s] = i
	}
	var merges []merge
	var cuts []int // part k of token s is s[cuts[k]:cuts[k+1]]
	for id, s := range ranks {
		if len(s) < 2 {
			continue
		}
		cuts = cuts[:0]
		for i := range len(s) + 1 {
			cuts = append(cuts, i)
		}
		for len(cuts) > 3 {
			best, at := id, -1
			for k := 0; k+2 < len(cuts); k++ {
				if r, ok := rankOf[s[cuts[k]:cuts[k+2]]]; ok && r < best {
					best, at = r, k
				}
			}
			if at < 0 {
				break
			}
			cuts = slices.Delete(cuts, at+1, at+2)
		}
		if len(cuts) != 3 {
			return nil, fmt.Errorf("token %d (%q) is not a merge of two lower-ranked tokens", id, s)
		}
		merges = append(merges, merge{int32(rankOf[s[:cuts[1]]]), int32(rankOf[s[cuts[1]:]])})
	}
	tokens := append(make([]string, 0, len(ranks)+len(specials)), ranks...)
	special := make([]bool, len(ranks), len(ranks)+len(specials))
	for _, s := range specials {
		tokens = append(tokens, s)
		special = append(special, true)
	}
	return newTokenizer(tokens, special, merges)
}
