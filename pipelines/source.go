package pipelines

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/transforms"
)

// csvMessage is a parsed CSV row on its way to the group-by-ticket.
type csvMessage struct {
	File string
	Line int64
	Msg  transforms.Message
}

func (m *csvMessage) appendTo(b []byte) []byte {
	b = append(b, wireVersion)
	b = appendString(b, m.File)
	b = binary.AppendVarint(b, m.Line)
	b = appendString(b, m.Msg.TicketID)
	b = appendString(b, m.Msg.CreatedAt)
	b = appendString(b, string(m.Msg.Role))
	b = appendString(b, m.Msg.Body)
	b = appendString(b, m.Msg.Subject)
	b = appendString(b, m.Msg.Channel)
	return binary.AppendVarint(b, m.Msg.Seq)
}

func decodeCSVMessage(b []byte) (csvMessage, error) {
	var m csvMessage
	if len(b) == 0 || b[0] != wireVersion {
		return m, errors.New("csv message: unknown wire version")
	}
	r := wireReader{b: b[1:]}
	m.File = r.string()
	m.Line = r.varint()
	m.Msg.TicketID = r.string()
	m.Msg.CreatedAt = r.string()
	m.Msg.Role = transforms.Role(r.string())
	m.Msg.Body = r.string()
	m.Msg.Subject = r.string()
	m.Msg.Channel = r.string()
	m.Msg.Seq = r.varint()
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return m, fmt.Errorf("csv message: %w", r.err)
	}
	return m, nil
}

// inputSink receives what readInput finds in a file.
type inputSink struct {
	// line receives each non-blank JSONL line; data is only valid during
	// the call.
	line func(line int64, data []byte, tooLong bool) error
	// message receives each valid CSV row.
	message func(m csvMessage) error
	// reject receives records rejected while reading (CSV rows).
	reject func(r rejectRecord) error
}

// readInput streams one input file into sink and appends the file's entry to
// st.Inputs. CSV rows that are rejected are counted as read records here;
// valid rows are counted when their ticket is assembled.
func readInput(ctx context.Context, f inputFile, st *Stats, sink inputSink) error {
	in, err := openInput(ctx, f.Path)
	if err != nil {
		return err
	}
	var records int64
	switch f.Format {
	case FormatJSONL:
		err = scanLines(in.r, func(line int64, data []byte, tooLong bool) error {
			if len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			records++
			return sink.line(line, data, tooLong)
		})
	case FormatCSV:
		records, err = readCSV(f, in.r, st, sink)
	default:
		err = fmt.Errorf("unknown format %q", f.Format)
	}
	sum, size, ferr := in.finish()
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	st.Inputs = append(st.Inputs, dataset.Input{Path: f.Path, Format: f.Format, Bytes: size, SHA256: sum, Records: records})
	return nil
}

// csvSeq orders rows across files: file index, then row number.
func csvSeq(fileIndex int, row int64) int64 { return int64(fileIndex)<<40 | row }

func readCSV(f inputFile, r io.Reader, st *Stats, sink inputSink) (int64, error) {
	rec := &recorder{r: r}
	cr := csv.NewReader(rec)
	cr.FieldsPerRecord = -1 // column counts are checked per row, against the header
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("CSV header: %w", err)
	}
	schema, err := transforms.NewCSVSchema(header)
	if err != nil {
		return 0, err
	}
	prev := cr.InputOffset()
	rec.span(0, prev)
	var rows int64
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		end := cr.InputOffset()
		raw := bytes.TrimRight(rec.span(prev, end), "\r\n")
		prev = end
		rows++
		st.CSVRows++
		var line int64
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			line = int64(pe.StartLine)
			err = transforms.CSVSyntaxError(err)
		case err != nil:
			return rows, err
		default:
			l, _ := cr.FieldPos(0)
			line = int64(l)
		}
		var msg transforms.Message
		if err == nil {
			msg, err = schema.ParseRow(fields)
		}
		if err != nil {
			st.Read++
			reason := reasonOf(err)
			inc(&st.Rejected, reason, 1)
			if rerr := sink.reject(newReject(f.Path, line, reason, err, raw)); rerr != nil {
				return rows, rerr
			}
			continue
		}
		msg.Seq = csvSeq(f.Index, rows)
		if err := sink.message(csvMessage{File: f.Path, Line: line, Msg: msg}); err != nil {
			return rows, err
		}
	}
}

// ticket groups a ticket's rows into a conversation (counted as one
// read record) and processes it.
func (p *processor) ticket(ticketID string, msgs []csvMessage, st *Stats) (prepared, bool) {
	st.Read++
	ms := make([]transforms.Message, len(msgs))
	first := 0
	for i, m := range msgs {
		ms[i] = m.Msg
		if m.Msg.Seq < msgs[first].Msg.Seq {
			first = i
		}
	}
	c := transforms.AssembleTicket(ticketID, ms)
	return p.conversation(c, msgs[first].File, msgs[first].Line, st)
}
