package pipelines

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nebras-ai/nebras/transforms"
)

// The records that cross a shuffle are encoded by hand: they are the bulk of
// what the runner moves, and a compact varint layout is several times
// smaller and faster than the schema or gob coders.

// prepared is a conversation that passed parsing, cleaning and filtering,
// with its turns tokenized, on its way to the shard writer that dedups it
// and renders its examples.
type prepared struct {
	ID  string
	Key [32]byte // transforms.ContentKey of the cleaned turns
	// File and Line locate the record, to break ties between duplicates
	// that share an id deterministically.
	File  string
	Line  int64
	Turns []transforms.TokenizedTurn
}

const wireVersion = 1

// recordRef identifies an input record: a JSONL line, or a CSV ticket by its
// first row. Input paths are unique, so no two records share one.
type recordRef struct {
	File string
	Line int64
}

// fingerprint is all the dedup needs of a conversation. Only fingerprints
// travel to the dedup; the conversations themselves are shuffled once, to
// their writers.
type fingerprint struct {
	Key [32]byte
	ID  string
	Ref recordRef
}

func (p *prepared) fingerprint() fingerprint {
	return fingerprint{Key: p.Key, ID: p.ID, Ref: recordRef{File: p.File, Line: p.Line}}
}

func (f *fingerprint) appendTo(b []byte) []byte {
	b = append(b, wireVersion)
	b = append(b, f.Key[:]...)
	b = appendString(b, f.ID)
	b = appendString(b, f.Ref.File)
	return binary.AppendVarint(b, f.Ref.Line)
}

func decodeFingerprint(b []byte) (fingerprint, error) {
	var f fingerprint
	if len(b) == 0 || b[0] != wireVersion {
		return f, errors.New("fingerprint: unknown wire version")
	}
	r := wireReader{b: b[1:]}
	copy(f.Key[:], r.bytes(32))
	f.ID = r.string()
	f.Ref.File = r.string()
	f.Ref.Line = r.varint()
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return f, fmt.Errorf("fingerprint: %w", r.err)
	}
	return f, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (p *prepared) appendTo(b []byte) []byte {
	b = append(b, wireVersion)
	b = appendString(b, p.ID)
	b = append(b, p.Key[:]...)
	b = appendString(b, p.File)
	b = binary.AppendVarint(b, p.Line)
	b = binary.AppendUvarint(b, uint64(len(p.Turns)))
	for _, t := range p.Turns {
		b = appendString(b, string(t.Role))
		b = appendString(b, t.Text)
		b = binary.AppendUvarint(b, uint64(len(t.Tokens)))
		for _, id := range t.Tokens {
			b = binary.AppendUvarint(b, uint64(uint32(id)))
		}
	}
	return b
}

// wireReader decodes the layout written by the append functions; the first
// error sticks and every later read returns zero values.
type wireReader struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated record")

func (r *wireReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errShort
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *wireReader) string() string { return string(r.bytes(r.uvarint())) }

// count reads a length that must leave at least min bytes per item, so a
// corrupt length cannot make the decoder allocate gigabytes.
func (r *wireReader) count(minBytes int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/max(minBytes, 1)) {
		r.err = fmt.Errorf("count %d exceeds the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

func decodePrepared(b []byte) (prepared, error) {
	var p prepared
	if len(b) == 0 || b[0] != wireVersion {
		return p, fmt.Errorf("prepared record: unknown wire version")
	}
	r := wireReader{b: b[1:]}
	p.ID = r.string()
	copy(p.Key[:], r.bytes(32))
	p.File = r.string()
	p.Line = r.varint()
	p.Turns = make([]transforms.TokenizedTurn, r.count(3))
	for i := range p.Turns {
		t := &p.Turns[i]
		t.Role = transforms.Role(r.string())
		t.Text = r.string()
		t.Tokens = make([]int32, r.count(1))
		for k := range t.Tokens {
			t.Tokens[k] = int32(r.uvarint())
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return p, fmt.Errorf("prepared record: %w", r.err)
	}
	return p, nil
}

// appendPacked appends one length-prefixed record to a pack.
func appendPacked(pack, rec []byte) []byte {
	pack = binary.AppendUvarint(pack, uint64(len(rec)))
	return append(pack, rec...)
}

// forEachPacked calls fn with each record of a pack.
func forEachPacked(pack []byte, fn func(rec []byte) error) error {
	r := wireReader{b: pack}
	for r.err == nil && len(r.b) > 0 {
		rec := r.bytes(r.uvarint())
		if r.err == nil {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	if r.err != nil {
		return fmt.Errorf("pack: %w", r.err)
	}
	return nil
}
