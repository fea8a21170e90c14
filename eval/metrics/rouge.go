package metrics

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unicode/utf8"
)

// ROUGEOptions configures ROUGE scoring.
type ROUGEOptions struct {
	// Stem applies NLTK's Porter stemmer (NLTK_EXTENSIONS mode) to tokens
	// longer than three characters, as rouge-score's use_stemmer=True.
	Stem bool
}

// ROUGEScore is one ROUGE variant's precision, recall and F-measure
// (the harmonic mean of the two), each in [0, 1].
type ROUGEScore struct {
	Precision, Recall, F float64
}

// ROUGE holds the variants rouge-score reports as rouge1, rouge2, rougeL
// and rougeLsum.
type ROUGE struct {
	R1    ROUGEScore // unigram overlap
	R2    ROUGEScore // bigram overlap
	RL    ROUGEScore // longest common subsequence of the whole texts
	RLsum ROUGEScore // summary-level union LCS over newline-separated sentences
}

// ScoreROUGE scores hyp against refs as rouge-score's
// RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"]).score_multi:
// each variant takes the scores of the reference with the highest
// F-measure, the first one on ties.
//
// Texts are tokenized as rouge-score's default tokenizer does: lowercased,
// every run of characters other than a-z and 0-9 is a separator (so
// accented and non-Latin letters separate tokens and are dropped), and
// with opt.Stem tokens longer than three characters are stemmed. ROUGE-L
// uses the LCS of the whole token sequences; ROUGE-Lsum splits each text
// into sentences at "\n" and scores the union LCS of each reference
// sentence with every hypothesis sentence, without counting a token more
// often than it occurs on either side. Precision is relative to the
// hypothesis, recall to the reference; an empty side scores 0.
func ScoreROUGE(hyp string, refs []string, opt ROUGEOptions) (ROUGE, error) {
	if len(refs) == 0 {
		return ROUGE{}, errors.New("rouge: no references")
	}
	s := newROUGEScorer(opt)
	return s.scoreMulti(hyp, refs), nil
}

// ScoreROUGEN scores hyp against refs with ROUGE-N for any n >= 1, as
// rouge-score's score_multi does for "rouge<n>"; see ScoreROUGE for the
// tokenization and the choice among references.
func ScoreROUGEN(hyp string, refs []string, n int, opt ROUGEOptions) (ROUGEScore, error) {
	if n < 1 {
		return ROUGEScore{}, fmt.Errorf("rouge-n: n is %d, want at least 1", n)
	}
	if len(refs) == 0 {
		return ROUGEScore{}, errors.New("rouge-n: no references")
	}
	s := newROUGEScorer(opt)
	s.tokenize(&s.hyp, hyp)
	var best ROUGEScore
	for i, ref := range refs {
		s.tokenize(&s.ref, ref)
		sc := s.ngramScore(s.ref.toks, s.hyp.toks, n)
		if i == 0 || sc.F > best.F {
			best = sc
		}
	}
	return best, nil
}

// CorpusROUGE scores each hypothesis with ScoreROUGE against its
// references and returns the mean over segments of each variant's
// precision, recall and F-measure: the figure papers and Hugging Face's
// rouge metric report (the latter as the middle of a bootstrap interval
// of this mean), not a ROUGE of pooled n-gram counts.
//
// refs is indexed by reference stream, then segment, as in sacreBLEU:
// refs[k][i] is the k-th reference of hyps[i]. Every stream must have one
// entry per hypothesis.
func CorpusROUGE(hyps []string, refs [][]string, opt ROUGEOptions) (ROUGE, error) {
	if len(hyps) == 0 {
		return ROUGE{}, errors.New("rouge: no hypotheses")
	}
	if len(refs) == 0 {
		return ROUGE{}, errors.New("rouge: no reference streams")
	}
	for k, stream := range refs {
		if len(stream) != len(hyps) {
			return ROUGE{}, fmt.Errorf("rouge: reference stream %d has %d segments, hypotheses %d", k, len(stream), len(hyps))
		}
	}
	// Segments are scored in parallel chunks, each worker with its own
	// scorer, and summed in segment order afterwards so that the result
	// does not depend on the number of workers.
	seg := make([]ROUGE, len(hyps))
	workers := min(runtime.GOMAXPROCS(0), (len(hyps)+rougeChunk-1)/rougeChunk)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(hyps)/workers, (w+1)*len(hyps)/workers
		wg.Go(func() {
			s := newROUGEScorer(opt)
			segRefs := make([]string, len(refs))
			for i := lo; i < hi; i++ {
				for k := range refs {
					segRefs[k] = refs[k][i]
				}
				seg[i] = s.scoreMulti(hyps[i], segRefs)
			}
		})
	}
	wg.Wait()
	var sum ROUGE
	for _, r := range seg {
		sum.R1.add(r.R1)
		sum.R2.add(r.R2)
		sum.RL.add(r.RL)
		sum.RLsum.add(r.RLsum)
	}
	n := float64(len(hyps))
	sum.R1.div(n)
	sum.R2.div(n)
	sum.RL.div(n)
	sum.RLsum.div(n)
	return sum, nil
}

// rougeChunk is the fewest segments worth a goroutine of their own.
const rougeChunk = 512

func (a *ROUGEScore) add(b ROUGEScore) {
	a.Precision += b.Precision
	a.Recall += b.Recall
	a.F += b.F
}

func (a *ROUGEScore) div(n float64) {
	a.Precision /= n
	a.Recall /= n
	a.F /= n
}

// rougeScore builds a score from hits over the hypothesis (precision) and
// reference (recall) totals, with rouge-score's F-measure expression so
// that results agree to the last bit.
func rougeScore(hits, hypTotal, refTotal int) ROUGEScore {
	p := float64(hits) / float64(max(hypTotal, 1))
	r := float64(hits) / float64(max(refTotal, 1))
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return ROUGEScore{Precision: p, Recall: r, F: f}
}

// rougeText is a tokenized text: token ids, and where each sentence
// (line) with at least one token ends in toks.
type rougeText struct {
	toks     []int32
	sentEnds []int
}

// rougeScorer scores texts, reusing its buffers across calls. Tokens are
// interned as int32 ids so that n-gram and LCS comparisons are integer
// compares; the vocabulary grows over a corpus, which also caches stems.
type rougeScorer struct {
	stem    bool
	ids     map[string]int32 // token as written (lowercased) -> id of its (stemmed) form
	stemIDs map[string]int32 // stemmed form -> id, with stem only
	nextID  int32
	word    []byte

	hyp, ref rougeText

	hypGrams, refGrams []uint64 // sorted n-gram keys
	row                []int32  // one LCS row
	table              []int32  // a full LCS table, for the Lsum backtrack
	inUnion            []bool   // reference sentence positions in the union LCS
	cntRef, cntHyp     []int32  // token counts by id, zero between uses
}

func newROUGEScorer(opt ROUGEOptions) *rougeScorer {
	s := &rougeScorer{stem: opt.Stem, ids: make(map[string]int32)}
	if opt.Stem {
		s.stemIDs = make(map[string]int32)
	}
	return s
}

// scoreMulti is score_multi over the four variants: per variant, the
// first reference with the highest F-measure.
func (s *rougeScorer) scoreMulti(hyp string, refs []string) ROUGE {
	s.tokenize(&s.hyp, hyp)
	var best ROUGE
	for i, ref := range refs {
		s.tokenize(&s.ref, ref)
		r := s.score()
		if i == 0 {
			best = r
			continue
		}
		if r.R1.F > best.R1.F {
			best.R1 = r.R1
		}
		if r.R2.F > best.R2.F {
			best.R2 = r.R2
		}
		if r.RL.F > best.RL.F {
			best.RL = r.RL
		}
		if r.RLsum.F > best.RLsum.F {
			best.RLsum = r.RLsum
		}
	}
	return best
}

// score compares s.hyp with s.ref.
func (s *rougeScorer) score() ROUGE {
	h, r := s.hyp.toks, s.ref.toks
	var out ROUGE
	out.R1 = s.ngramScore(r, h, 1)
	out.R2 = s.ngramScore(r, h, 2)
	if len(h) > 0 && len(r) > 0 {
		out.RL = rougeScore(s.lcsLength(r, h), len(h), len(r))
	}
	if len(s.hyp.sentEnds) <= 1 && len(s.ref.sentEnds) <= 1 {
		// With one sentence a side the union LCS is the LCS, no token of
		// it can be counted twice, and the totals are the same: ROUGE-Lsum
		// is ROUGE-L to the bit.
		out.RLsum = out.RL
	} else {
		out.RLsum = s.summaryLCS()
	}
	return out
}

// tokenize fills t with text's tokens the way rouge-score's tokenize.py
// does: Python's str.lower, then [^a-z0-9]+ -> " ", split, optional stem
// of tokens longer than 3, drop empty tokens; and it notes where each
// "\n"-separated sentence ends.
func (s *rougeScorer) tokenize(t *rougeText, text string) {
	t.toks = t.toks[:0]
	t.sentEnds = t.sentEnds[:0]
	s.word = s.word[:0]
	endSentence := func() {
		if n := len(t.toks); n > 0 && (len(t.sentEnds) == 0 || t.sentEnds[len(t.sentEnds)-1] < n) {
			t.sentEnds = append(t.sentEnds, n)
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				s.word = append(s.word, c)
			case 'A' <= c && c <= 'Z':
				s.word = append(s.word, c+'a'-'A')
			default:
				s.endToken(t)
				if c == '\n' {
					endSentence()
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		// Of all code points only these two lowercase (in Python) to
		// something containing a-z or 0-9: KELVIN SIGN to "k", and
		// LATIN CAPITAL LETTER I WITH DOT ABOVE to "i" followed by a
		// combining dot, which separates.
		switch r {
		case '\u212a':
			s.word = append(s.word, 'k')
		case '\u0130':
			s.word = append(s.word, 'i')
			s.endToken(t)
		default:
			s.endToken(t)
		}
	}
	s.endToken(t)
	endSentence()
}

// endToken appends the token in s.word, if any, to t.
func (s *rougeScorer) endToken(t *rougeText) {
	if len(s.word) == 0 {
		return
	}
	id, ok := s.ids[string(s.word)]
	if !ok {
		id = s.intern(string(s.word))
	}
	if id >= 0 {
		t.toks = append(t.toks, id)
	}
	s.word = s.word[:0]
}

// intern assigns an id to a new token, -1 when its stem is empty and
// rouge-score's final validity check would drop it.
func (s *rougeScorer) intern(word string) int32 {
	if !s.stem {
		id := s.nextID
		s.nextID++
		s.ids[word] = id
		return id
	}
	form := word
	if len(word) > 3 {
		form = porterStem(word)
	}
	id := int32(-1)
	if form != "" {
		var ok bool
		if id, ok = s.stemIDs[form]; !ok {
			id = s.nextID
			s.nextID++
			s.stemIDs[form] = id
		}
	}
	s.ids[word] = id
	return id
}

// ngramScore is rouge-score's _score_ngrams: the clipped n-gram overlap
// (sum over n-grams of the smaller count) over each side's n-gram total.
func (s *rougeScorer) ngramScore(ref, hyp []int32, n int) ROUGEScore {
	nr, nh := max(len(ref)-n+1, 0), max(len(hyp)-n+1, 0)
	if nr == 0 || nh == 0 {
		return rougeScore(0, nh, nr)
	}
	var hits int
	if n <= 2 {
		s.refGrams = rougePackGrams(s.refGrams[:0], ref, n)
		s.hypGrams = rougePackGrams(s.hypGrams[:0], hyp, n)
		hits = rougeSortedOverlap(s.refGrams, s.hypGrams)
	} else {
		hits = rougeWindowOverlap(ref, hyp, n)
	}
	return rougeScore(hits, nh, nr)
}

// rougePackGrams appends toks' n-grams (n <= 2) as uint64 keys, sorted.
func rougePackGrams(dst []uint64, toks []int32, n int) []uint64 {
	for i := 0; i+n <= len(toks); i++ {
		k := uint64(uint32(toks[i]))
		if n == 2 {
			k = k<<32 | uint64(uint32(toks[i+1]))
		}
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

// rougeSortedOverlap is the size of the multiset intersection of two
// sorted key lists.
func rougeSortedOverlap(a, b []uint64) int {
	hits, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			hits++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return hits
}

// rougeWindowOverlap is rougeSortedOverlap for n-grams too long to pack,
// comparing windows of the token slices.
func rougeWindowOverlap(ref, hyp []int32, n int) int {
	starts := func(toks []int32) []int {
		idx := make([]int, len(toks)-n+1)
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return slices.Compare(toks[a:a+n], toks[b:b+n]) })
		return idx
	}
	a, b := starts(ref), starts(hyp)
	hits, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := slices.Compare(ref[a[i]:a[i]+n], hyp[b[j]:b[j]+n]); {
		case c == 0:
			hits++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return hits
}

// lcsLength is the length of the longest common subsequence of a and b,
// with one reused DP row.
func (s *rougeScorer) lcsLength(a, b []int32) int {
	row := slices.Grow(s.row[:0], len(b)+1)[:len(b)+1]
	clear(row)
	for _, x := range a {
		diag := int32(0) // row[j-1] of the previous row
		for j, y := range b {
			up := row[j+1]
			switch {
			case x == y:
				row[j+1] = diag + 1
			case row[j] > up:
				row[j+1] = row[j]
			}
			diag = up
		}
	}
	s.row = row
	return int(row[len(b)])
}

// summaryLCS is rouge-score's _summary_level_lcs over the sentences of
// s.ref and s.hyp.
func (s *rougeScorer) summaryLCS() ROUGEScore {
	ref, hyp := &s.ref, &s.hyp
	m, n := len(ref.toks), len(hyp.toks)
	if m == 0 || n == 0 {
		return ROUGEScore{}
	}
	if need := int(s.nextID); len(s.cntRef) < need {
		// Doubling keeps a growing corpus vocabulary from reallocating
		// the counts for every new word.
		size := max(need, 2*len(s.cntRef))
		s.cntRef = make([]int32, size)
		s.cntHyp = make([]int32, size)
	}
	for _, t := range ref.toks {
		s.cntRef[t]++
	}
	for _, t := range hyp.toks {
		s.cntHyp[t]++
	}
	hits := 0
	start := 0
	for _, end := range ref.sentEnds {
		r := ref.toks[start:end]
		start = end
		s.inUnion = slices.Grow(s.inUnion[:0], len(r))[:len(r)]
		clear(s.inUnion)
		hstart := 0
		for _, hend := range hyp.sentEnds {
			s.markLCS(r, hyp.toks[hstart:hend])
			hstart = hend
		}
		for i, in := range s.inUnion {
			if t := r[i]; in && s.cntHyp[t] > 0 && s.cntRef[t] > 0 {
				hits++
				s.cntHyp[t]--
				s.cntRef[t]--
			}
		}
	}
	for _, t := range ref.toks {
		s.cntRef[t] = 0
	}
	for _, t := range hyp.toks {
		s.cntHyp[t] = 0
	}
	return rougeScore(hits, n, m)
}

// markLCS marks in s.inUnion the positions of ref on the one LCS of ref
// and can that rouge-score's _backtrack_norec reads out of the full table:
// from the end, take a match, else step along can when that keeps a
// strictly longer LCS, else step along ref.
func (s *rougeScorer) markLCS(ref, can []int32) {
	rows, cols := len(ref)+1, len(can)+1
	t := slices.Grow(s.table[:0], rows*cols)[:rows*cols]
	s.table = t
	clear(t[:cols])
	for i := 1; i < rows; i++ {
		prev, cur := t[(i-1)*cols:i*cols], t[i*cols:(i+1)*cols]
		cur[0] = 0
		x := ref[i-1]
		for j := 1; j < cols; j++ {
			switch {
			case x == can[j-1]:
				cur[j] = prev[j-1] + 1
			default:
				cur[j] = max(prev[j], cur[j-1])
			}
		}
	}
	i, j := len(ref), len(can)
	for i > 0 && j > 0 {
		switch {
		case ref[i-1] == can[j-1]:
			s.inUnion[i-1] = true
			i--
			j--
		case t[i*cols+j-1] > t[(i-1)*cols+j]:
			j--
		default:
			i--
		}
	}
}
