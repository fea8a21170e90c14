package pipelines

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/transforms"
)

// rowsPerRowGroup bounds what a Parquet writer buffers (a row is a few KB)
// and gives readers row groups small enough to stream.
const rowsPerRowGroup = 2048

// shardWriter turns the conversations routed to one shard into that shard's
// Parquet files, one per split.
type shardWriter struct {
	root, tmp  string
	shards     int
	maxSeqLen  int
	split      transforms.SplitRatios
	salt       string
	tmpl       *transforms.Template
	rowsPerGrp int
}

func newShardWriter(o Options, tmp string, shards int, tmpl *transforms.Template) *shardWriter {
	return &shardWriter{
		root: o.Output, tmp: tmp, shards: shards, maxSeqLen: o.MaxSeqLen,
		split: o.Split, salt: o.SplitSalt, tmpl: tmpl, rowsPerGrp: rowsPerRowGroup,
	}
}

func shardFileName(split transforms.Split, shard, shards int) string {
	return fmt.Sprintf("%s/part-%05d-of-%05d.parquet", split, shard, shards)
}

// duplicates returns the fingerprints that lose to another with the same
// content key: every one but the smallest (id, file, line), so the survivor
// does not depend on the order the runner delivered the records in.
func duplicates(fps []fingerprint) []fingerprint {
	slices.SortFunc(fps, func(a, b fingerprint) int {
		return cmp.Or(bytes.Compare(a.Key[:], b.Key[:]), cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Ref.File, b.Ref.File), cmp.Compare(a.Ref.Line, b.Ref.Line))
	})
	var losers []fingerprint
	for i := 1; i < len(fps); i++ {
		if fps[i].Key == fps[i-1].Key {
			losers = append(losers, fps[i])
		}
	}
	return losers
}

// contentShardOf routes a fingerprint by content key, so every duplicate of
// a conversation meets the others in one dedup.
func contentShardOf(key [32]byte, shards int) int {
	return int(binary.BigEndian.Uint32(key[:4]) % uint32(shards))
}

// idShardOf routes a conversation to its writer by id, so conversations that
// share an id but differ in content (two help desks' exports merged, or
// SGD's train and dev dialogue numbering) meet in one writer and get
// distinct example ids.
func idShardOf(id string, shards int) int {
	return int(crc32.ChecksumIEEE([]byte(id)) % uint32(shards))
}

// write renders and writes one writer shard of conversations, less the
// duplicates, returning its Stats. Conversations are ordered by (id, content key), which
// makes the files byte-identical whatever order the runner delivered them in.
func (w *shardWriter) write(ctx context.Context, shard int, recs []prepared, dups map[recordRef]bool) (Stats, error) {
	recs = slices.DeleteFunc(recs, func(p prepared) bool { return dups[recordRef{File: p.File, Line: p.Line}] })
	slices.SortFunc(recs, func(a, b prepared) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), bytes.Compare(a.Key[:], b.Key[:]))
	})
	st := Stats{Kept: int64(len(recs))}
	bySplit := make(map[transforms.Split][]keyed)
	n := 0 // position of r among the conversations sharing its id
	for i, r := range recs {
		if i > 0 && recs[i-1].ID == r.ID {
			n++
		} else {
			n = 1
		}
		// The first conversation under an id keeps it as the example id
		// prefix; later ones, in content-key order, get "~2", "~3", ...
		prefix := r.ID
		if n > 1 {
			prefix = r.ID + "~" + strconv.Itoa(n)
			st.IDCollisions++
		}
		s := transforms.AssignSplit(r.ID, w.salt, w.split)
		bySplit[s] = append(bySplit[s], keyed{prepared: r, exampleID: prefix})
	}
	for _, split := range transforms.Splits {
		convs := bySplit[split]
		if len(convs) == 0 {
			continue
		}
		info, dropped, err := w.writeSplit(ctx, split, shard, convs)
		if err != nil {
			return st, err
		}
		for reason, n := range dropped {
			inc(&st.ExamplesDropped, reason, n)
		}
		if st.Splits == nil {
			st.Splits = make(map[string]dataset.SplitInfo)
		}
		st.Splits[string(split)] = info
	}
	return st, nil
}

// keyed is a conversation with the prefix its example ids get.
type keyed struct {
	prepared
	exampleID string
}

func (w *shardWriter) writeSplit(ctx context.Context, split transforms.Split, shard int, convs []keyed) (dataset.SplitInfo, map[string]int64, error) {
	info := dataset.SplitInfo{Conversations: int64(len(convs))}
	dropped := map[string]int64{}
	rel := shardFileName(split, shard, w.shards)
	size, sum, err := writeAtomic(ctx, w.tmp, joinPath(w.root, rel), func(out io.Writer) error {
		pw := parquet.NewGenericWriter[dataset.Row](out,
			parquet.Compression(&parquet.Zstd),
			parquet.MaxRowsPerRowGroup(int64(w.rowsPerGrp)),
			parquet.CreatedBy("nebras", "", ""),
		)
		batch := make([]dataset.Row, 0, 256)
		flush := func() error {
			if _, err := pw.Write(batch); err != nil {
				return err
			}
			batch = batch[:0]
			return nil
		}
		for _, c := range convs {
			var emitErr error
			n, err := w.tmpl.Examples(c.ID, c.Turns, w.maxSeqLen, func(ex transforms.Example) {
				info.Rows++
				info.Tokens += int64(len(ex.InputIDs))
				info.TargetTokens += int64(len(ex.InputIDs)) - int64(ex.TargetStart)
				batch = append(batch, dataset.Row{
					ExampleID:      c.exampleID + "#" + strconv.Itoa(int(ex.TurnIndex)),
					ConversationID: ex.ConversationID,
					Split:          string(split),
					TurnIndex:      ex.TurnIndex,
					InputIDs:       ex.InputIDs,
					TargetStart:    ex.TargetStart,
					NTokens:        int32(len(ex.InputIDs)),
					Context:        ex.Context,
					Reply:          ex.Reply,
					Truncated:      ex.Truncated,
				})
				if len(batch) == cap(batch) && emitErr == nil {
					emitErr = flush()
				}
			})
			if err != nil {
				return err
			}
			if emitErr != nil {
				return emitErr
			}
			if n > 0 {
				dropped[transforms.ExampleDropReplyTooLong] += int64(n)
			}
		}
		if err := flush(); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		return info, nil, err
	}
	info.Files = []dataset.File{{Path: rel, Rows: info.Rows, Bytes: size, SHA256: sum}}
	return info, dropped, nil
}
