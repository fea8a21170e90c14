package pipelines

import (
	"context"
	"maps"
	"slices"

	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/transforms"
)

// runLoop runs the pipeline as a plain loop in one goroutine: the same
// reader, processor and writers as the Beam graph, with maps in place of the
// shuffles. It is the reference the Beam path is tested against and the
// baseline its benchmark is measured against.
func runLoop(ctx context.Context, pl plan, tok *tokenizer.Tokenizer) (Stats, error) {
	var st Stats
	proc := newProcessor(pl.opts, tok)
	var all []prepared
	rejects := make(map[int][]rejectRecord)
	tickets := make(map[string][]csvMessage)
	addReject := func(r rejectRecord) {
		k := r.key(pl.shards)
		rejects[k] = append(rejects[k], r)
	}
	for _, f := range pl.files {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		err := readInput(ctx, f, &st, inputSink{
			line: func(line int64, data []byte, tooLong bool) error {
				rec, rej, ok := proc.jsonLine(f.Path, line, data, tooLong, &st)
				if rej != nil {
					addReject(*rej)
				}
				if ok {
					all = append(all, rec)
				}
				return nil
			},
			message: func(m csvMessage) error {
				tickets[m.Msg.TicketID] = append(tickets[m.Msg.TicketID], m)
				return nil
			},
			reject: func(r rejectRecord) error { addReject(r); return nil },
		})
		if err != nil {
			return st, err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(tickets)) {
		if rec, ok := proc.ticket(id, tickets[id], &st); ok {
			all = append(all, rec)
		}
	}

	tmpl, err := transforms.NewTemplate(tok)
	if err != nil {
		return st, err
	}
	fps := make([]fingerprint, len(all))
	byID := make([][]prepared, pl.shards)
	for i := range all {
		fps[i] = all[i].fingerprint()
		k := idShardOf(all[i].ID, pl.shards)
		byID[k] = append(byID[k], all[i])
	}
	dups := make(map[recordRef]bool)
	for _, fp := range duplicates(fps) {
		dups[fp.Ref] = true
	}
	st.Duplicates += int64(len(dups))
	w := newShardWriter(pl.opts, pl.tmp, pl.shards, tmpl)
	for shard, recs := range byID {
		if len(recs) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
		s, err := w.write(ctx, shard, recs, dups)
		if err != nil {
			return st, err
		}
		st.Merge(s)
	}
	for _, key := range slices.Sorted(maps.Keys(rejects)) {
		s, err := writeRejected(ctx, pl.opts.Output, pl.tmp, key, rejects[key])
		if err != nil {
			return st, err
		}
		st.Merge(s)
	}
	return st, nil
}
