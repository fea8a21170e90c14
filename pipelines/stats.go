package pipelines

import (
	"encoding/json"

	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/transforms"
)

// Stats is the pipeline's bookkeeping: every stage emits partial Stats and a
// combine merges them into the one the manifest is built from. Counting with
// data rather than Beam metrics keeps the figures exact on every runner:
// a retried bundle's output is discarded together with its Stats, whereas
// attempted metrics would count it twice.
type Stats struct {
	Inputs          []dataset.Input              `json:"inputs,omitempty"`
	Read            int64                        `json:"read,omitempty"`
	Kept            int64                        `json:"kept,omitempty"`
	Duplicates      int64                        `json:"duplicates,omitempty"`
	IDCollisions    int64                        `json:"id_collisions,omitempty"`
	CSVRows         int64                        `json:"csv_rows,omitempty"`
	Filtered        map[string]int64             `json:"filtered,omitempty"`
	Rejected        map[string]int64             `json:"rejected,omitempty"`
	TurnsDropped    map[string]int64             `json:"turns_dropped,omitempty"`
	Redactions      map[string]int64             `json:"redactions,omitempty"`
	ExamplesDropped map[string]int64             `json:"examples_dropped,omitempty"`
	Splits          map[string]dataset.SplitInfo `json:"splits,omitempty"`
	RejectedFiles   []dataset.File               `json:"rejected_files,omitempty"`
}

func inc(m *map[string]int64, key string, n int64) {
	if n == 0 {
		return
	}
	if *m == nil {
		*m = make(map[string]int64)
	}
	(*m)[key] += n
}

func (s *Stats) addRedactions(c transforms.RedactionCounts) {
	inc(&s.Redactions, "email", c.Email)
	inc(&s.Redactions, "phone", c.Phone)
	inc(&s.Redactions, "card", c.Card)
	inc(&s.Redactions, "iban", c.IBAN)
	inc(&s.Redactions, "ip", c.IP)
}

// Merge adds o into s.
func (s *Stats) Merge(o Stats) {
	s.Inputs = append(s.Inputs, o.Inputs...)
	s.Read += o.Read
	s.Kept += o.Kept
	s.Duplicates += o.Duplicates
	s.IDCollisions += o.IDCollisions
	s.CSVRows += o.CSVRows
	for _, p := range []struct{ dst, src *map[string]int64 }{
		{&s.Filtered, &o.Filtered}, {&s.Rejected, &o.Rejected}, {&s.TurnsDropped, &o.TurnsDropped},
		{&s.Redactions, &o.Redactions}, {&s.ExamplesDropped, &o.ExamplesDropped},
	} {
		for k, v := range *p.src {
			inc(p.dst, k, v)
		}
	}
	for name, src := range o.Splits {
		if s.Splits == nil {
			s.Splits = make(map[string]dataset.SplitInfo)
		}
		dst := s.Splits[name]
		dst.Conversations += src.Conversations
		dst.Rows += src.Rows
		dst.Tokens += src.Tokens
		dst.TargetTokens += src.TargetTokens
		dst.Files = append(dst.Files, src.Files...)
		s.Splits[name] = dst
	}
	s.RejectedFiles = append(s.RejectedFiles, o.RejectedFiles...)
}

// counts returns the manifest's view of s.
func (s *Stats) counts() dataset.Counts {
	nonNil := func(m map[string]int64) map[string]int64 {
		if m == nil {
			return map[string]int64{}
		}
		return m
	}
	return dataset.Counts{
		Read:            s.Read,
		Kept:            s.Kept,
		Filtered:        nonNil(s.Filtered),
		Duplicates:      s.Duplicates,
		IDCollisions:    s.IDCollisions,
		Rejected:        nonNil(s.Rejected),
		CSVRows:         s.CSVRows,
		TurnsDropped:    nonNil(s.TurnsDropped),
		Redactions:      nonNil(s.Redactions),
		ExamplesDropped: nonNil(s.ExamplesDropped),
	}
}

func encodeStats(s Stats) ([]byte, error) { return json.Marshal(s) }

func decodeStats(b []byte) (Stats, error) {
	var s Stats
	err := json.Unmarshal(b, &s)
	return s, err
}
