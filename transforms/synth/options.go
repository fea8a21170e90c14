package synth

import (
	"fmt"
	"math"
)

// Output formats accepted by Options.Format.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// DefaultCompany is the help desk's company when Options.Company is empty.
const DefaultCompany = "Northwind"

// Options configures Generate. Each rate is a probability in [0, 1] whose
// unit (per conversation, per message, ...) its comment states; a rate of
// zero turns that kind of mess off. The zero Options therefore yields clean
// tickets; DefaultOptions yields realistic ones.
type Options struct {
	// N is the number of distinct conversations to generate. Exact
	// duplicates, re-imports and malformed records are written in addition
	// to these N, so a file holds more records (see Report).
	N int
	// Seed selects the output: the same Options give the same bytes.
	Seed int64
	// Format is FormatJSONL (the default when empty) or FormatCSV.
	Format string
	// Company is the help desk's company, named in agent messages and
	// signatures; DefaultCompany when empty. Keep it ASCII: Report.Unicode
	// assumes only the conversations it counts hold non-ASCII text.
	Company string

	// HTMLRate is, per side of an email conversation, the chance that the
	// side's mail client sends HTML bodies (with <p>, <br>, <div>, <b>,
	// entities, and sometimes a <style> block and a <blockquote>).
	HTMLRate float64
	// SignatureRate is, per email or web-form conversation, the chance the
	// customer's messages carry a sign-off, a signature block with contact
	// details, or a "Sent from my iPhone" footer.
	SignatureRate float64
	// AgentSignatureRate is, per email or web-form conversation, the chance
	// agent messages carry a signature naming the company.
	AgentSignatureRate float64
	// QuoteRate is, per email or web-form reply, the chance it quotes the
	// message it answers below an "On ... wrote:" or "Original Message"
	// header.
	QuoteRate float64
	// DisclaimerRate is, per side of an email or web-form conversation, the
	// chance its messages end with a legal disclaimer.
	DisclaimerRate float64
	// PIIRate is, per conversation, the chance the customer writes one or
	// two pieces of PII (card number, IBAN, email, phone, IP address) into
	// a message. Signatures and quote headers carry contact details of
	// their own, governed by their rates.
	PIIRate float64
	// LookalikeRate is, per conversation, the chance the customer writes an
	// extra value that resembles PII but is not: a 16-digit reference that
	// fails the Luhn check, a tracking or invoice number, and so on. Order
	// numbers, dates and prices appear in prose regardless.
	LookalikeRate float64
	// ExactDuplicateRate is, per conversation, the chance its record is
	// written a second time, byte for byte, shortly after the first.
	ExactDuplicateRate float64
	// ReimportRate is, per conversation, the chance it is written again
	// under a new id, as when a ticket is imported twice.
	ReimportRate float64
	// MalformedRate is, per conversation, the chance a malformed record
	// follows it.
	MalformedRate float64
	// NoAgentReplyRate is, per conversation, the chance it holds customer
	// messages only.
	NoAgentReplyRate float64
	// EmptyTurnRate is, per conversation, the chance it holds a customer
	// turn with nothing of its own: only a signature, only a quote, or
	// blank.
	EmptyTurnRate float64
	// UnicodeRate is, per conversation, the chance it holds non-ASCII text:
	// accented or CJK names, emoji, typographic apostrophes, currency
	// signs. Other conversations are pure ASCII (HTML entities aside).
	UnicodeRate float64
	// SystemTurnRate is, per conversation, the chance it holds an automated
	// message: an auto-reply, a chat transfer, a call-recording notice.
	SystemTurnRate float64
	// ExtraFieldsRate is, per JSONL record, the chance it carries top-level
	// fields outside the schema ("status", "priority", "tags", ...).
	ExtraFieldsRate float64
	// MetadataRate is, per JSONL record, the chance it carries a free-form
	// "metadata" object.
	MetadataRate float64
	// InterleaveRate is, per CSV ticket of two or more messages, the chance
	// its later rows are written after rows of other tickets.
	InterleaveRate float64
}

// DefaultOptions returns the options `nebras tickets generate` uses: 1000
// JSONL conversations with every kind of mess at a realistic rate.
func DefaultOptions() Options {
	return Options{
		N:                  1000,
		Seed:               1,
		Format:             FormatJSONL,
		Company:            DefaultCompany,
		HTMLRate:           0.4,
		SignatureRate:      0.6,
		AgentSignatureRate: 0.8,
		QuoteRate:          0.35,
		DisclaimerRate:     0.05,
		PIIRate:            0.3,
		LookalikeRate:      0.3,
		ExactDuplicateRate: 0.01,
		ReimportRate:       0.005,
		MalformedRate:      0.003,
		NoAgentReplyRate:   0.06,
		EmptyTurnRate:      0.03,
		UnicodeRate:        0.1,
		SystemTurnRate:     0.1,
		ExtraFieldsRate:    0.4,
		MetadataRate:       0.6,
		InterleaveRate:     0.02,
	}
}

// rates lists the rate fields by name, for validation.
func (o *Options) rates() []struct {
	name string
	v    float64
} {
	return []struct {
		name string
		v    float64
	}{
		{"HTMLRate", o.HTMLRate}, {"SignatureRate", o.SignatureRate},
		{"AgentSignatureRate", o.AgentSignatureRate}, {"QuoteRate", o.QuoteRate},
		{"DisclaimerRate", o.DisclaimerRate}, {"PIIRate", o.PIIRate},
		{"LookalikeRate", o.LookalikeRate}, {"ExactDuplicateRate", o.ExactDuplicateRate},
		{"ReimportRate", o.ReimportRate}, {"MalformedRate", o.MalformedRate},
		{"NoAgentReplyRate", o.NoAgentReplyRate}, {"EmptyTurnRate", o.EmptyTurnRate},
		{"UnicodeRate", o.UnicodeRate}, {"SystemTurnRate", o.SystemTurnRate},
		{"ExtraFieldsRate", o.ExtraFieldsRate}, {"MetadataRate", o.MetadataRate},
		{"InterleaveRate", o.InterleaveRate},
	}
}

// Validate reports the first problem with o, in one line.
func (o Options) Validate() error {
	if o.N < 0 {
		return fmt.Errorf("synth: N must be >= 0, got %d", o.N)
	}
	switch o.Format {
	case "", FormatJSONL, FormatCSV:
	default:
		return fmt.Errorf("synth: unknown format %q (want %q or %q)", o.Format, FormatJSONL, FormatCSV)
	}
	for _, r := range o.rates() {
		if !(r.v >= 0 && r.v <= 1) || math.IsNaN(r.v) {
			return fmt.Errorf("synth: %s must be in [0,1], got %v", r.name, r.v)
		}
	}
	return nil
}
