package synth

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// Keys of Report.MalformedKinds.
const (
	MalformedTruncated    = "truncated"       // JSONL: the line stops mid-record
	MalformedInvalidUTF8  = "invalid_utf8"    // a message holds bytes that are not UTF-8
	MalformedMissingID    = "missing_id"      // JSONL: no "id"; CSV: empty ticket_id
	MalformedIDType       = "id_not_string"   // JSONL: "id" is a number
	MalformedMissingTurns = "missing_turns"   // JSONL: no "turns"
	MalformedTurnsType    = "turns_not_array" // JSONL: "turns" is a string
	MalformedUnknownRole  = "unknown_role"    // a role such as "bot" or "end-user"
	MalformedColumnCount  = "column_count"    // CSV: a row with 5 or 7 fields
)

// Report describes what Generate wrote, so that a test can hold a
// pipeline's counts against it.
//
// A record is well formed when it is valid UTF-8 and (JSONL) a JSON object
// with a non-empty string "id" and a "turns" array of objects whose "role"
// is customer, agent or system and whose "text" is a string, or (CSV) a
// row of six fields with a non-empty ticket_id, a known author_role and a
// created_at in one of the two layouts. Every other record is malformed.
//
// The per-conversation counts (Turns through Lookalikes) cover the N
// distinct conversations only; their duplicates and re-imports repeat them,
// and malformed records are not counted in them.
type Report struct {
	// Format is the format written.
	Format string `json:"format"`
	// Conversations is the number of distinct conversations: Options.N.
	Conversations int `json:"conversations"`
	// Records is the number of well-formed records (JSONL lines or CSV
	// tickets): Conversations + ExactDuplicates + Reimported.
	Records int `json:"records"`
	// Lines is the number of JSONL lines, or of CSV rows after the header:
	// a CSV record spans several lines when a body holds line breaks.
	Lines int `json:"lines"`
	// Bytes is the number of bytes written.
	Bytes int64 `json:"bytes"`
	// Malformed is the number of malformed JSONL lines or CSV rows, each
	// with its own id where it has one.
	Malformed int `json:"malformed"`
	// MalformedKinds counts Malformed by how each record is broken.
	MalformedKinds map[string]int `json:"malformed_kinds"`
	// Duplicates is ExactDuplicates + Reimported.
	Duplicates int `json:"duplicates"`
	// ExactDuplicates is the number of records written twice, identically:
	// the same line, or the same CSV rows.
	ExactDuplicates int `json:"exact_duplicates"`
	// Reimported is the number of records written again under a new id.
	Reimported int `json:"reimported"`
	// Interleaved is the number of CSV tickets whose rows are split by rows
	// of other tickets. It never includes an exactly duplicated ticket.
	Interleaved int `json:"interleaved"`
	// NoAgentReply is the number of conversations without an agent turn.
	NoAgentReply int `json:"no_agent_reply"`
	// Turns is the number of turns.
	Turns int `json:"turns"`
	// EmptyTurns is the number of turns with nothing of their own: only a
	// signature, only a quote, or whitespace.
	EmptyTurns int `json:"empty_turns"`
	// HTMLTurns is the number of turns with an HTML body.
	HTMLTurns int `json:"html_turns"`
	// QuotedTurns is the number of turns quoting an earlier message.
	QuotedTurns int `json:"quoted_turns"`
	// Unicode is the number of conversations with non-ASCII text; all
	// others are ASCII.
	Unicode int `json:"unicode"`
	// Channels counts conversations by channel: email, chat, web_form,
	// phone.
	Channels map[string]int `json:"channels"`
	// PII counts, by PIIEmail and the other PII keys, every occurrence of
	// PII in turn text after HTML entities are decoded: customer
	// disclosures, signatures, web-form fields, the addresses in quote
	// headers and the company's own support address and phone number.
	// A quoted message counts again.
	PII map[string]int `json:"pii"`
	// Lookalikes counts, by LookalikeOrder and the other lookalike keys,
	// the lookalike values written from templates, quoted copies included.
	// Dates and times also appear in quote headers, which are not counted.
	Lookalikes map[string]int `json:"lookalikes"`
}

// Bounds, in conversations, on how far a deferred record may trail its
// original. They bound the memory Generate holds.
const (
	maxDupDelay        = 8
	maxReimportDelay   = 64
	maxInterleaveDelay = 16
)

// PCG stream constants: one random stream per concern, so that the
// conversations and the placement of duplicates are the same in JSONL and
// CSV output for a seed.
const (
	streamContent = 0x9e3779b97f4a7c15
	streamLayout  = 0xbf58476d1ce4e5b9
	streamFormat  = 0x94d049bb133111eb
	streamJunk    = 0xd6e8feb86659fd93
)

// Generate writes opts.N synthetic support conversations to w, with the
// duplicates, re-imports and malformed records the options ask for, and
// reports what it wrote. The output depends only on opts: the same options
// give the same bytes. Generate streams: it holds one conversation and a
// bounded window of deferred records, never the whole output.
func Generate(w io.Writer, opts Options) (Report, error) {
	if err := opts.Validate(); err != nil {
		return Report{}, err
	}
	if opts.Format == "" {
		opts.Format = FormatJSONL
	}
	isCSV := opts.Format == FormatCSV
	s := uint64(opts.Seed)
	g := newGen(opts, s, streamContent)
	junk := newGen(opts, s, streamJunk)
	layout := rand.New(rand.NewPCG(s, streamLayout))
	fr := rand.New(rand.NewPCG(s, streamFormat))

	rep := Report{
		Format:         opts.Format,
		MalformedKinds: map[string]int{},
		Channels:       map[string]int{},
		PII:            map[string]int{},
		Lookalikes:     map[string]int{},
	}
	e := &emitter{w: bufio.NewWriterSize(w, 64<<10), rep: &rep}
	if isCSV {
		e.write([]byte(CSVHeader+"\n"), 0)
	}
	chance := func(r *rand.Rand, p float64) bool { return p > 0 && r.Float64() < p }

	var (
		line, bad []byte
		rows      []int // end offset in line of each CSV row
		total     tally
		nextID    = 1
	)
	for i := range opts.N {
		id := nextID
		nextID++
		g.build(id)
		rep.count(&g.c)
		total.add(&g.c.total)

		layoutCSV := csvLayoutPlain
		if isCSV {
			if fr.IntN(2) == 0 {
				layoutCSV = csvLayoutRFC
			}
			line, rows = line[:0], rows[:0]
			for t := range g.c.turns {
				line = g.appendCSVRow(line, id, t, layoutCSV)
				rows = append(rows, len(line))
			}
		} else {
			line = append(g.appendJSON(line[:0], id, flawNone, ""), '\n')
			rows = append(rows[:0], len(line))
		}

		dup := chance(layout, opts.ExactDuplicateRate)
		// Split only a ticket that is not duplicated and not the last, so
		// another ticket's rows always land in between.
		if isCSV && !dup && len(rows) > 1 && i < opts.N-1 && chance(fr, opts.InterleaveRate) {
			k := 1 + fr.IntN(len(rows)-1)
			e.write(line[:rows[k-1]], k)
			e.later(i+1+fr.IntN(maxInterleaveDelay), line[rows[k-1]:], len(rows)-k)
			rep.Interleaved++
		} else {
			e.write(line, len(rows))
		}
		if dup {
			e.later(i+layout.IntN(maxDupDelay+1), line, len(rows))
			rep.ExactDuplicates++
		}
		if chance(layout, opts.ReimportRate) {
			rid := nextID
			nextID++
			var re []byte
			if isCSV {
				for t := range g.c.turns {
					re = g.appendCSVRow(re, rid, t, layoutCSV)
				}
			} else {
				re = append(g.appendJSON(nil, rid, flawNone, ""), '\n')
			}
			e.later(i+1+layout.IntN(maxReimportDelay), re, len(rows))
			rep.Reimported++
		}
		if chance(layout, opts.MalformedRate) {
			mid := nextID
			nextID++
			var kind string
			if isCSV {
				bad, kind = junk.malformedCSV(bad[:0], mid, fr)
			} else {
				bad, kind = junk.malformedJSON(bad[:0], mid, fr)
			}
			e.write(bad, 1)
			rep.Malformed++
			rep.MalformedKinds[kind]++
		}
		e.flush(i)
		if e.err != nil {
			return rep, fmt.Errorf("synth: writing conversation %d of %d: %w", i+1, opts.N, e.err)
		}
	}
	e.flush(math.MaxInt)
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err != nil {
		return rep, fmt.Errorf("synth: writing output: %w", e.err)
	}
	rep.Duplicates = rep.ExactDuplicates + rep.Reimported
	rep.Records = rep.Conversations + rep.Duplicates
	for k := range numKinds {
		if k < firstLookalike {
			rep.PII[kindNames[k]] = int(total[k])
		} else {
			rep.Lookalikes[kindNames[k]] = int(total[k])
		}
	}
	return rep, nil
}

// count adds one distinct conversation to the report.
func (rep *Report) count(c *convo) {
	rep.Conversations++
	rep.Turns += len(c.turns)
	rep.Channels[channelNames[c.ch]]++
	agent := false
	for i := range c.turns {
		t := &c.turns[i]
		agent = agent || t.role == roleAgent
		if t.empty {
			rep.EmptyTurns++
		}
		if t.html {
			rep.HTMLTurns++
		}
		if t.quoted {
			rep.QuotedTurns++
		}
	}
	if !agent {
		rep.NoAgentReply++
	}
	if c.unicode {
		rep.Unicode++
	}
}

// deferred is a record waiting for its turn in the output.
type deferred struct {
	due   int
	lines int
	data  []byte
}

// emitter writes records, holding back the deferred ones until due.
type emitter struct {
	w     *bufio.Writer
	err   error
	rep   *Report
	queue []deferred
}

func (e *emitter) write(b []byte, lines int) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(b)
	e.rep.Bytes += int64(len(b))
	e.rep.Lines += lines
}

// later queues a copy of b to be written once the conversation count
// reaches due.
func (e *emitter) later(due int, b []byte, lines int) {
	e.queue = append(e.queue, deferred{due, lines, append([]byte(nil), b...)})
}

// flush writes, in queue order, the deferred records due by tick.
func (e *emitter) flush(tick int) {
	keep := e.queue[:0]
	for _, d := range e.queue {
		if d.due <= tick {
			e.write(d.data, d.lines)
		} else {
			keep = append(keep, d)
		}
	}
	clear(e.queue[len(keep):])
	e.queue = keep
}
