package pipelines

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/transforms"
)

// The DoFns below are thin: each one decodes its input, calls the shared
// reader, processor or writer, and encodes what it emits. They are structs
// registered in init whose configuration lives in exported fields, because
// remote runners rebuild them from their serialized form in a worker binary;
// a captured closure or an unexported field would not survive the trip, so
// unexported fields only hold what Setup builds on the worker.

func init() {
	beam.RegisterType(reflect.TypeOf((*inputFile)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*Stats)(nil)).Elem(), encodeStats, decodeStats)

	register.DoFn6x1[context.Context, inputFile, func([]byte), func(string, []byte), func(int, []byte), func(Stats), error](&readFileFn{})
	register.DoFn6x1[context.Context, []byte, func(int, []byte), func(int, []byte), func(int, []byte), func(Stats), error](&processBatchFn{})
	register.DoFn6x1[context.Context, string, func(*[]byte) bool, func(int, []byte), func(int, []byte), func(Stats), error](&assembleTicketFn{})
	register.DoFn5x1[context.Context, int, func(*[]byte) bool, func([]byte), func(Stats), error](&dedupFn{})
	register.DoFn5x1[context.Context, int, func(*[]byte) bool, func(*[]byte) bool, func(Stats), error](&writeShardFn{})
	register.DoFn4x1[context.Context, int, func(*[]byte) bool, func(Stats), error](&writeRejectedFn{})
	register.DoFn2x1[context.Context, Stats, error](&writeStatsFn{})
	register.Function2x1(mergeStats)

	register.Emitter1[[]byte]()
	register.Emitter2[string, []byte]()
	register.Emitter2[int, []byte]()
	register.Emitter1[Stats]()
	register.Iter1[[]byte]()
}

// batchLines is how many JSONL lines travel as one element. Batching makes
// the runner's per-element cost (tens of microseconds on Prism) vanish next
// to the work done per element.
const (
	batchLines = 256
	batchBytes = 1 << 20
)

// A line batch is a run of lines from one file, encoded as the file name,
// then (line, tooLong, data) triples.
func appendBatchHeader(b []byte, file string) []byte {
	return appendString(append(b, wireVersion), file)
}

func appendBatchLine(b []byte, line int64, tooLong bool, data []byte) []byte {
	b = binary.AppendVarint(b, line)
	flag := byte(0)
	if tooLong {
		flag = 1
	}
	b = append(b, flag)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

func forEachBatchLine(b []byte, fn func(file string, line int64, tooLong bool, data []byte)) error {
	if len(b) == 0 || b[0] != wireVersion {
		return fmt.Errorf("line batch: unknown wire version")
	}
	r := wireReader{b: b[1:]}
	file := r.string()
	for r.err == nil && len(r.b) > 0 {
		line := r.varint()
		flag := r.bytes(1)
		data := r.bytes(r.uvarint())
		if r.err == nil {
			fn(file, line, flag[0] == 1, data)
		}
	}
	if r.err != nil {
		return fmt.Errorf("line batch: %w", r.err)
	}
	return nil
}

// readFileFn reads one input file: JSONL lines leave in batches, CSV rows
// leave keyed by ticket id for the group-by-ticket, rows rejected while
// reading leave as dead letters.
type readFileFn struct {
	Shards int
}

func (f *readFileFn) ProcessElement(ctx context.Context, in inputFile, emitBatch func([]byte), emitRow func(string, []byte), emitReject func(int, []byte), emitStats func(Stats)) error {
	var (
		st    Stats
		batch []byte
		n     int
	)
	flush := func() {
		if n > 0 {
			emitBatch(batch)
		}
		batch, n = nil, 0
	}
	err := readInput(ctx, in, &st, inputSink{
		line: func(line int64, data []byte, tooLong bool) error {
			if n == 0 {
				batch = appendBatchHeader(make([]byte, 0, batchBytes+len(data)+64), in.Path)
			}
			batch = appendBatchLine(batch, line, tooLong, data)
			if n++; n == batchLines || len(batch) >= batchBytes {
				flush()
			}
			return nil
		},
		message: func(m csvMessage) error {
			emitRow(m.Msg.TicketID, m.appendTo(nil))
			return nil
		},
		reject: func(r rejectRecord) error {
			emitReject(r.key(f.Shards), r.encode())
			return nil
		},
	})
	if err != nil {
		return err
	}
	flush()
	emitStats(st)
	return nil
}

// stageFn holds what the processing DoFns share: the options and, after
// Setup, the tokenizer and processor.
type stageFn struct {
	Opts   Options
	Shards int
	// TokenizerPath is where workers load the tokenizer from: "gpt2" or
	// the copy the driver wrote into the dataset directory.
	TokenizerPath string

	tok  *tokenizer.Tokenizer
	proc *processor
}

func (f *stageFn) setup(ctx context.Context) error {
	tok, err := loadTokenizer(ctx, f.TokenizerPath)
	if err != nil {
		return err
	}
	f.tok = tok
	f.proc = newProcessor(f.Opts, tok)
	return nil
}

// emitter sends a prepared conversation to its writer, by id, and its
// fingerprint to the dedup, by content key. Fingerprints of one bundle
// element leave packed, one element per content shard, so the dedup's
// shuffle costs a few elements per batch rather than one per conversation.
type emitter struct {
	shards int
	conv   func(int, []byte)
	packs  [][]byte
}

func (e *emitter) add(rec *prepared) {
	e.conv(idShardOf(rec.ID, e.shards), rec.appendTo(nil))
	fp := rec.fingerprint()
	k := contentShardOf(fp.Key, e.shards)
	e.packs[k] = appendPacked(e.packs[k], fp.appendTo(nil))
}

func (e *emitter) flush(emitFP func(int, []byte)) {
	for k, p := range e.packs {
		if p != nil {
			emitFP(k, p)
		}
	}
}

// processBatchFn parses, cleans, redacts, filters and tokenizes a batch of
// JSONL lines.
type processBatchFn struct{ stageFn }

func (f *processBatchFn) Setup(ctx context.Context) error { return f.setup(ctx) }

func (f *processBatchFn) ProcessElement(ctx context.Context, batch []byte, emitConv func(int, []byte), emitFP func(int, []byte), emitReject func(int, []byte), emitStats func(Stats)) error {
	var st Stats
	out := emitter{shards: f.Shards, conv: emitConv, packs: make([][]byte, f.Shards)}
	err := forEachBatchLine(batch, func(file string, line int64, tooLong bool, data []byte) {
		rec, rej, ok := f.proc.jsonLine(file, line, data, tooLong, &st)
		if rej != nil {
			emitReject(rej.key(f.Shards), rej.encode())
		}
		if ok {
			out.add(&rec)
		}
	})
	if err != nil {
		return err
	}
	out.flush(emitFP)
	emitStats(st)
	return nil
}

// assembleTicketFn turns a CSV ticket's rows into a prepared conversation.
type assembleTicketFn struct{ stageFn }

func (f *assembleTicketFn) Setup(ctx context.Context) error { return f.setup(ctx) }

func (f *assembleTicketFn) ProcessElement(ctx context.Context, ticketID string, rows func(*[]byte) bool, emitConv func(int, []byte), emitFP func(int, []byte), emitStats func(Stats)) error {
	var msgs []csvMessage
	var raw []byte
	for rows(&raw) {
		m, err := decodeCSVMessage(raw)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	var st Stats
	if rec, ok := f.proc.ticket(ticketID, msgs, &st); ok {
		out := emitter{shards: f.Shards, conv: emitConv, packs: make([][]byte, f.Shards)}
		out.add(&rec)
		out.flush(emitFP)
	}
	emitStats(st)
	return nil
}

// dedupFn finds the duplicates among the fingerprints routed to one content
// shard and emits the losers, which the writers take as a side input.
type dedupFn struct{}

func (f *dedupFn) ProcessElement(ctx context.Context, shard int, packs func(*[]byte) bool, emitLoser func([]byte), emitStats func(Stats)) error {
	var fps []fingerprint
	var raw []byte
	for packs(&raw) {
		err := forEachPacked(raw, func(rec []byte) error {
			fp, err := decodeFingerprint(rec)
			fps = append(fps, fp)
			return err
		})
		if err != nil {
			return fmt.Errorf("content shard %d: %w", shard, err)
		}
	}
	losers := duplicates(fps)
	for i := range losers {
		emitLoser(losers[i].appendTo(nil))
	}
	emitStats(Stats{Duplicates: int64(len(losers))})
	return nil
}

// writeShardFn renders a writer shard's conversations, less the duplicates,
// into its Parquet files.
type writeShardFn struct {
	stageFn
	Tmp string

	w *shardWriter
}

func (f *writeShardFn) Setup(ctx context.Context) error {
	if err := f.setup(ctx); err != nil {
		return err
	}
	tmpl, err := transforms.NewTemplate(f.tok)
	if err != nil {
		return err
	}
	f.w = newShardWriter(f.Opts, f.Tmp, f.Shards, tmpl)
	return nil
}

func (f *writeShardFn) ProcessElement(ctx context.Context, shard int, recs func(*[]byte) bool, losers func(*[]byte) bool, emitStats func(Stats)) error {
	dups := make(map[recordRef]bool)
	var raw []byte
	for losers(&raw) {
		fp, err := decodeFingerprint(raw)
		if err != nil {
			return fmt.Errorf("shard %d: %w", shard, err)
		}
		dups[fp.Ref] = true
	}
	var all []prepared
	for recs(&raw) {
		p, err := decodePrepared(raw)
		if err != nil {
			return fmt.Errorf("shard %d: %w", shard, err)
		}
		all = append(all, p)
	}
	st, err := f.w.write(ctx, shard, all, dups)
	if err != nil {
		return fmt.Errorf("shard %d: %w", shard, err)
	}
	emitStats(st)
	return nil
}

// writeRejectedFn writes one dead-letter file.
type writeRejectedFn struct {
	Output, Tmp string
}

func (f *writeRejectedFn) ProcessElement(ctx context.Context, key int, recs func(*[]byte) bool, emitStats func(Stats)) error {
	var all []rejectRecord
	var raw []byte
	for recs(&raw) {
		var r rejectRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("dead letter: %w", err)
		}
		all = append(all, r)
	}
	st, err := writeRejected(ctx, f.Output, f.Tmp, key, all)
	if err != nil {
		return err
	}
	emitStats(st)
	return nil
}

// writeStatsFn hands the merged Stats to the driver through a file, the one
// channel that works the same on every runner.
type writeStatsFn struct {
	Path, Tmp string
}

func (f *writeStatsFn) ProcessElement(ctx context.Context, st Stats) error {
	raw, err := encodeStats(st)
	if err != nil {
		return err
	}
	_, _, err = writeAtomic(ctx, f.Tmp, f.Path, func(w io.Writer) error {
		_, err := w.Write(raw)
		return err
	})
	return err
}

func mergeStats(a, b Stats) Stats {
	a.Merge(b)
	return a
}

// plan is what the driver decided before building the graph.
type plan struct {
	opts          Options
	files         []inputFile
	shards        int
	tmp           string
	statsPath     string
	tokenizerPath string
}

// buildGraph builds the Beam pipeline for a plan.
func buildGraph(pl plan) *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	stage := stageFn{Opts: pl.opts, Shards: pl.shards, TokenizerPath: pl.tokenizerPath}

	files := beam.Reshuffle(s, beam.CreateList(s, pl.files))
	batches, rows, readRejects, readStats := beam.ParDo4(s.Scope("Read"), &readFileFn{Shards: pl.shards}, files)

	// Reshuffle spreads the batches of one big file over all workers.
	batches = beam.Reshuffle(s, batches)
	jsonConvs, jsonFPs, procRejects, procStats := beam.ParDo4(s.Scope("Process"), &processBatchFn{stage}, batches)

	tickets := beam.GroupByKey(s.Scope("GroupTickets"), rows)
	csvConvs, csvFPs, csvStats := beam.ParDo3(s.Scope("AssembleTickets"), &assembleTicketFn{stage}, tickets)

	// Fingerprints meet by content key to find the duplicates; the
	// conversations travel once, by id, to writers that skip the losers
	// and see every conversation sharing an id.
	fps := beam.GroupByKey(s.Scope("GroupByContent"), beam.Flatten(s, jsonFPs, csvFPs))
	losers, dedupStats := beam.ParDo2(s.Scope("Dedup"), &dedupFn{}, fps)
	byID := beam.GroupByKey(s.Scope("GroupByID"), beam.Flatten(s, jsonConvs, csvConvs))
	shardStats := beam.ParDo(s.Scope("WriteShards"), &writeShardFn{stageFn: stage, Tmp: pl.tmp}, byID,
		beam.SideInput{Input: losers})

	rejects := beam.GroupByKey(s.Scope("GroupRejects"), beam.Flatten(s, readRejects, procRejects))
	rejectStats := beam.ParDo(s.Scope("WriteRejects"), &writeRejectedFn{Output: pl.opts.Output, Tmp: pl.tmp}, rejects)

	all := beam.Flatten(s, readStats, procStats, csvStats, dedupStats, shardStats, rejectStats)
	merged := beam.Combine(s.Scope("MergeStats"), mergeStats, all)
	beam.ParDo0(s.Scope("WriteStats"), &writeStatsFn{Path: pl.statsPath, Tmp: pl.tmp}, merged)
	return p
}
