package pipelines

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/transforms"
)

// Reject reasons the pipeline adds to the parsers' own.
const (
	reasonLineTooLong = "line_too_long"
)

// rejectRecord is one dead letter, written as a JSONL line under rejected/.
type rejectRecord struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
	// Raw is the record as read when it is valid UTF-8; RawBase64 holds it
	// otherwise, so the dead letter is always valid JSON and loses nothing.
	Raw       string `json:"raw,omitempty"`
	RawBase64 string `json:"raw_base64,omitempty"`
	// RawTruncated is set when Raw holds only the first bytes of a record
	// too long to keep whole.
	RawTruncated bool `json:"raw_truncated,omitempty"`
}

func newReject(file string, line int64, reason string, err error, raw []byte) rejectRecord {
	r := rejectRecord{File: file, Line: line, Reason: reason, Error: err.Error()}
	if len(raw) > rejectedRawBytes {
		raw, r.RawTruncated = raw[:rejectedRawBytes], true
	}
	if utf8.Valid(raw) {
		r.Raw = string(raw)
	} else {
		r.RawBase64 = base64.StdEncoding.EncodeToString(raw)
	}
	return r
}

// key spreads dead letters over the writers while keeping each file's
// letters together in runs.
func (r *rejectRecord) key(shards int) int {
	h := crc32.ChecksumIEEE([]byte(r.File)) + uint32(r.Line>>16)
	return int(h % uint32(shards))
}

func (r *rejectRecord) encode() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		// Every field is a string (valid UTF-8 by construction), int or bool.
		panic(fmt.Sprintf("pipelines: reject record does not marshal: %v", err))
	}
	return b
}

// reasonOf names why a record was rejected: the parser's reason, or
// "invalid" for an error that carries none.
func reasonOf(err error) string {
	if r := transforms.ReasonOf(err); r != "" {
		return string(r)
	}
	return "invalid"
}

// processor carries a conversation from parse to the shuffle. It is the
// shared core of the Beam DoFns and the plain loop.
type processor struct {
	prep transforms.PrepareOptions
	tok  *tokenizer.Tokenizer
}

func newProcessor(o Options, tok *tokenizer.Tokenizer) *processor {
	return &processor{prep: transforms.PrepareOptions{MaxTurnChars: o.MaxTurnChars}, tok: tok}
}

// jsonLine handles one JSONL line: it counts it as read, and either rejects
// it, filters it, or returns it prepared for the shuffle.
func (p *processor) jsonLine(file string, line int64, data []byte, tooLong bool, st *Stats) (prepared, *rejectRecord, bool) {
	st.Read++
	if tooLong {
		inc(&st.Rejected, reasonLineTooLong, 1)
		r := newReject(file, line, reasonLineTooLong, fmt.Errorf("line longer than %d bytes", maxLineBytes), data)
		r.RawTruncated = true
		return prepared{}, &r, false
	}
	c, err := transforms.ParseJSONL(data)
	if err != nil {
		reason := reasonOf(err)
		inc(&st.Rejected, reason, 1)
		r := newReject(file, line, reason, err, data)
		return prepared{}, &r, false
	}
	rec, ok := p.conversation(c, file, line, st)
	return rec, nil, ok
}

// conversation cleans, redacts, filters and tokenizes a parsed conversation
// (already counted as read).
func (p *processor) conversation(c transforms.Conversation, file string, line int64, st *Stats) (prepared, bool) {
	clean, rep := transforms.Prepare(c, p.prep)
	st.addRedactions(rep.Redactions)
	if rep.Filtered != "" {
		inc(&st.Filtered, rep.Filtered, 1)
		return prepared{}, false
	}
	inc(&st.TurnsDropped, transforms.TurnDropEmpty, int64(rep.EmptyTurns))
	return prepared{
		ID:    clean.ID,
		Key:   transforms.ContentKey(clean.Turns),
		File:  file,
		Line:  line,
		Turns: transforms.TokenizeTurns(p.tok, clean.Turns),
	}, true
}
