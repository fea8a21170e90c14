package metrics

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// BLEUOptions configures CorpusBLEU and SentenceBLEU. The zero value is
// sacreBLEU 2.x's default BLEU configuration: 13a tokenization, exp
// smoothing, n-grams up to 4, case-sensitive, no effective order.
type BLEUOptions struct {
	// Tokenize names the tokenizer: "13a" (default when empty), "none" or
	// "intl".
	Tokenize string
	// Smooth names the smoothing method: "exp" (default when empty),
	// "floor", "add-k" or "none".
	Smooth string
	// SmoothValue is the value for floor and add-k smoothing; 0 selects the
	// method's default (0.1 for floor, 1 for add-k). A floor or k of zero
	// would score exactly as Smooth "none", which is the way to ask for it.
	SmoothValue float64
	// MaxOrder is the largest n-gram order; 0 selects 4.
	MaxOrder int
	// Lowercase lowercases hypotheses and references (Python's str.lower)
	// before tokenizing.
	Lowercase bool
	// EffectiveOrder averages only the orders for which the hypothesis
	// has n-grams at all, as sacreBLEU's effective_order does. sacreBLEU's
	// BLEU class leaves it off, even for sentence_score; its convenience
	// function sacrebleu.sentence_bleu turns it on, so sentence-level
	// callers usually want it set.
	EffectiveOrder bool
}

// BLEUScore is a BLEU score with the statistics it was computed from, as
// sacreBLEU's BLEUScore holds them.
type BLEUScore struct {
	// Score is BLEU on the 0–100 scale.
	Score float64
	// Counts holds, for each order 1..MaxOrder, the clipped n-gram matches.
	// Unlike sacreBLEU, add-k smoothing does not fold k into Counts and
	// Totals; it shows only in Precisions and Score.
	Counts []int
	// Totals holds, for each order, the number of hypothesis n-grams.
	Totals []int
	// Precisions holds the (smoothed) n-gram precisions in percent.
	Precisions []float64
	// BP is the brevity penalty.
	BP float64
	// Ratio is SysLen/RefLen, or 0 when RefLen is 0.
	Ratio float64
	// SysLen is the number of hypothesis words.
	SysLen int
	// RefLen is the sum over segments of the reference length closest to
	// the hypothesis length, the shorter one on a tie.
	RefLen int
}

// String formats s as sacreBLEU prints a score without its signature, e.g.
// "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17
// ref_len = 18)".
func (s BLEUScore) String() string {
	precs := make([]string, len(s.Precisions))
	for i, p := range s.Precisions {
		precs[i] = fmt.Sprintf("%.1f", p)
	}
	return fmt.Sprintf("BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
		s.Score, strings.Join(precs, "/"), s.BP, s.Ratio, s.SysLen, s.RefLen)
}

// bleuSmoothing is a validated smoothing method.
type bleuSmoothing uint8

const (
	bleuSmoothExp bleuSmoothing = iota
	bleuSmoothFloor
	bleuSmoothAddK
	bleuSmoothNone
)

// bleuConfig is a validated BLEUOptions with defaults filled in.
type bleuConfig struct {
	tokenizer   sacreTokenizerKind
	smooth      bleuSmoothing
	smoothValue float64
	maxOrder    int
	lowercase   bool
	effective   bool
}

func (o BLEUOptions) bleuConfig() (bleuConfig, error) {
	c := bleuConfig{maxOrder: o.MaxOrder, lowercase: o.Lowercase, effective: o.EffectiveOrder}
	switch o.Tokenize {
	case "", "13a":
		c.tokenizer = sacreTok13a
	case "none":
		c.tokenizer = sacreTokNone
	case "intl":
		c.tokenizer = sacreTokIntl
	default:
		return c, fmt.Errorf("metrics: unknown BLEU tokenizer %q (want 13a, none or intl)", o.Tokenize)
	}
	switch o.Smooth {
	case "", "exp":
		c.smooth = bleuSmoothExp
	case "floor":
		c.smooth, c.smoothValue = bleuSmoothFloor, 0.1
	case "add-k":
		c.smooth, c.smoothValue = bleuSmoothAddK, 1
	case "none":
		c.smooth = bleuSmoothNone
	default:
		return c, fmt.Errorf("metrics: unknown BLEU smoothing %q (want exp, floor, add-k or none)", o.Smooth)
	}
	if math.IsNaN(o.SmoothValue) || math.IsInf(o.SmoothValue, 0) || o.SmoothValue < 0 {
		return c, fmt.Errorf("metrics: BLEU smoothing value %v is not a finite non-negative number", o.SmoothValue)
	}
	if o.SmoothValue != 0 {
		c.smoothValue = o.SmoothValue
	}
	switch {
	case c.maxOrder == 0:
		c.maxOrder = 4
	case c.maxOrder < 0:
		return c, fmt.Errorf("metrics: BLEU max n-gram order %d is negative", o.MaxOrder)
	}
	return c, nil
}

// CorpusBLEU scores hypotheses against reference streams as sacreBLEU's
// BLEU.corpus_score does: refs[i][j] is stream i's reference for hyps[j].
// An empty reference string means that stream has no reference for that
// segment (a variable number of references); every segment needs at least
// one. Empty hypotheses are kept and count as zero-length output.
func CorpusBLEU(hyps []string, refs [][]string, opt BLEUOptions) (BLEUScore, error) {
	cfg, err := opt.bleuConfig()
	if err != nil {
		return BLEUScore{}, err
	}
	if len(hyps) == 0 {
		return BLEUScore{}, errors.New("metrics: BLEU needs at least one hypothesis")
	}
	if len(refs) == 0 {
		return BLEUScore{}, errors.New("metrics: BLEU needs at least one reference stream")
	}
	for i, stream := range refs {
		if len(stream) != len(hyps) {
			return BLEUScore{}, fmt.Errorf("metrics: BLEU reference stream %d has %d segments, want %d (one per hypothesis)",
				i, len(stream), len(hyps))
		}
	}
	c := newBLEUCounter(cfg)
	st := bleuStats{correct: make([]int, cfg.maxOrder), total: make([]int, cfg.maxOrder)}
	for j, hyp := range hyps {
		if err := c.segment(hyp, refs, j, &st); err != nil {
			return BLEUScore{}, err
		}
	}
	return bleuCompute(st, cfg), nil
}

// SentenceBLEU scores one hypothesis against its references as sacreBLEU's
// BLEU.sentence_score does. See BLEUOptions.EffectiveOrder: sacreBLEU's
// sentence_bleu convenience function enables it, the BLEU class does not.
func SentenceBLEU(hyp string, refs []string, opt BLEUOptions) (BLEUScore, error) {
	if len(refs) == 0 {
		return BLEUScore{}, errors.New("metrics: sentence BLEU needs at least one reference")
	}
	streams := make([][]string, len(refs))
	for i := range refs {
		streams[i] = refs[i : i+1]
	}
	return CorpusBLEU([]string{hyp}, streams, opt)
}

// bleuStats are BLEU's sufficient statistics, summed over segments.
type bleuStats struct {
	sysLen, refLen int
	correct, total []int
}

// bleuNoID marks an n-gram that no reference of the segment contains. It
// also serves as the prefix of unigram keys, which keeps them apart from
// the keys of longer n-grams.
const bleuNoID = ^uint32(0)

// bleuCounter computes segment statistics. Words are interned to ids once
// per corpus; within a segment, each reference n-gram gets a dense local id
// through the key (id of its first n-1 words, id of its last word), so
// counting needs no per-n-gram strings and is exact, unlike hashing.
type bleuCounter struct {
	cfg     bleuConfig
	tok     sacreTokenizer
	vocab   map[string]uint32
	ngrams  map[uint64]uint32 // (prefix n-gram id, word id) -> local id
	refMax  []int32           // by local id: most occurrences in one reference
	cnt     []int32           // by local id: occurrences in the current text
	touched []uint32          // local ids with a non-zero cnt
	words   []uint32          // word ids of the current text
	grams   []uint32          // by start position: local id of the current order's n-gram
	spans   []sacreSpan
	refLens []int
}

// bleuMaxRetainedNgrams bounds the n-gram map kept between segments: clear
// costs time proportional to the map's capacity, so one very long segment
// must not slow down all that follow it.
const bleuMaxRetainedNgrams = 1 << 12

func newBLEUCounter(cfg bleuConfig) *bleuCounter {
	return &bleuCounter{
		cfg:    cfg,
		tok:    sacreTokenizer{kind: cfg.tokenizer, lowercase: cfg.lowercase},
		vocab:  make(map[string]uint32),
		ngrams: make(map[uint64]uint32),
	}
}

// segment adds the statistics of hyps[j] against refs[·][j] to st.
func (c *bleuCounter) segment(hyp string, refs [][]string, j int, st *bleuStats) error {
	c.refLens = c.refLens[:0]
	for _, stream := range refs {
		if stream[j] == "" {
			continue
		}
		c.refLens = append(c.refLens, c.addReference(stream[j]))
	}
	if len(c.refLens) == 0 {
		return fmt.Errorf("metrics: BLEU segment %d has only empty references", j)
	}
	hypLen := c.matchHypothesis(hyp, st)
	st.sysLen += hypLen
	st.refLen += bleuClosestRefLen(hypLen, c.refLens)

	if len(c.ngrams) > bleuMaxRetainedNgrams {
		c.ngrams = make(map[uint64]uint32)
	} else {
		clear(c.ngrams)
	}
	c.refMax = c.refMax[:0]
	c.cnt = c.cnt[:0]
	return nil
}

// tokenize splits line into c.words as word ids. With intern set, new
// words get ids; otherwise they read as bleuNoID, since a word that no
// reference uses cannot start or extend a match.
func (c *bleuCounter) tokenize(line string, intern bool) {
	buf := c.tok.process(line)
	c.spans = sacreFields(c.spans[:0], buf)
	c.words = c.words[:0]
	for _, sp := range c.spans {
		w := buf[sp.start:sp.end]
		id, ok := c.vocab[string(w)]
		if !ok {
			if intern {
				id = uint32(len(c.vocab))
				c.vocab[string(w)] = id
			} else {
				id = bleuNoID
			}
		}
		c.words = append(c.words, id)
	}
}

// addReference folds one reference's n-gram counts into c.refMax, keeping
// for each n-gram its largest count in any single reference, and returns
// the reference's length in words.
func (c *bleuCounter) addReference(ref string) int {
	c.tokenize(ref, true)
	n := len(c.words)
	c.grams = append(c.grams[:0], c.words...)
	for order := 1; order <= c.cfg.maxOrder && order <= n; order++ {
		for i := 0; i+order <= n; i++ {
			prefix := bleuNoID
			if order > 1 {
				prefix = c.grams[i]
			}
			key := uint64(prefix)<<32 | uint64(c.words[i+order-1])
			id, ok := c.ngrams[key]
			if !ok {
				id = uint32(len(c.refMax))
				c.ngrams[key] = id
				c.refMax = append(c.refMax, 0)
				c.cnt = append(c.cnt, 0)
			}
			c.grams[i] = id
			if c.cnt[id] == 0 {
				c.touched = append(c.touched, id)
			}
			c.cnt[id]++
		}
	}
	for _, id := range c.touched {
		c.refMax[id] = max(c.refMax[id], c.cnt[id])
		c.cnt[id] = 0
	}
	c.touched = c.touched[:0]
	return n
}

// matchHypothesis adds the hypothesis's n-gram totals and clipped matches
// against the segment's references to st and returns its length in words.
func (c *bleuCounter) matchHypothesis(hyp string, st *bleuStats) int {
	c.tokenize(hyp, false)
	n := len(c.words)
	c.grams = append(c.grams[:0], c.words...)
	for order := 1; order <= c.cfg.maxOrder && order <= n; order++ {
		st.total[order-1] += n - order + 1
		for i := 0; i+order <= n; i++ {
			prefix, word := bleuNoID, c.words[i+order-1]
			if order > 1 {
				prefix = c.grams[i]
				if prefix == bleuNoID {
					continue // an unmatched prefix stays unmatched
				}
			}
			id := bleuNoID
			if word != bleuNoID {
				if v, ok := c.ngrams[uint64(prefix)<<32|uint64(word)]; ok {
					id = v
				}
			}
			c.grams[i] = id
			if id == bleuNoID {
				continue
			}
			if c.cnt[id] == 0 {
				c.touched = append(c.touched, id)
			}
			c.cnt[id]++
		}
		for _, id := range c.touched {
			st.correct[order-1] += int(min(c.cnt[id], c.refMax[id]))
			c.cnt[id] = 0
		}
		c.touched = c.touched[:0]
	}
	return n
}

// bleuClosestRefLen returns the reference length closest to hypLen,
// preferring the shorter on a tie.
func bleuClosestRefLen(hypLen int, refLens []int) int {
	best, bestDiff := -1, -1
	for _, l := range refLens {
		diff := max(hypLen-l, l-hypLen)
		if bestDiff < 0 || diff < bestDiff || (diff == bestDiff && l < best) {
			best, bestDiff = l, diff
		}
	}
	return best
}

// bleuLog is sacreBLEU's my_log: log with log(0) floored to -9999999999,
// which drives the geometric mean to zero without a NaN.
func bleuLog(x float64) float64 {
	if x == 0 {
		return -9999999999
	}
	return math.Log(x)
}

// bleuCompute turns sufficient statistics into a score exactly as
// sacreBLEU's BLEU.compute_bleu does, including its quirks: the
// no-match early return, a zero precision (not a skipped order) for
// unsmoothed zero matches, and effective order counting only orders with
// hypothesis n-grams.
func bleuCompute(st bleuStats, cfg bleuConfig) BLEUScore {
	s := BLEUScore{
		Counts:     st.correct,
		Totals:     st.total,
		Precisions: make([]float64, cfg.maxOrder),
		SysLen:     st.sysLen,
		RefLen:     st.refLen,
		BP:         1,
	}
	if st.refLen != 0 {
		s.Ratio = float64(st.sysLen) / float64(st.refLen)
	}
	if st.sysLen < st.refLen {
		s.BP = 0
		if st.sysLen > 0 {
			s.BP = math.Exp(1 - float64(st.refLen)/float64(st.sysLen))
		}
	}
	anyCorrect := false
	for _, m := range st.correct {
		anyCorrect = anyCorrect || m != 0
	}
	if !anyCorrect {
		return s
	}

	smoothMteval := 1.0
	effOrder := cfg.maxOrder
	for n := 1; n <= cfg.maxOrder; n++ {
		correct, total := float64(st.correct[n-1]), float64(st.total[n-1])
		if cfg.smooth == bleuSmoothAddK && n > 1 {
			correct += cfg.smoothValue
			total += cfg.smoothValue
		}
		if total == 0 {
			break
		}
		if cfg.effective {
			effOrder = n
		}
		switch {
		case correct != 0:
			s.Precisions[n-1] = 100 * correct / total
		case cfg.smooth == bleuSmoothExp:
			smoothMteval *= 2
			s.Precisions[n-1] = 100 / (smoothMteval * total)
		case cfg.smooth == bleuSmoothFloor:
			s.Precisions[n-1] = 100 * cfg.smoothValue / total
		}
	}
	var sum float64
	for _, p := range s.Precisions[:effOrder] {
		sum += bleuLog(p)
	}
	s.Score = s.BP * math.Exp(sum/float64(effOrder))
	return s
}
