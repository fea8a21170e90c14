package pipelines

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/nebras-ai/nebras/pipelines/dataset"
)

// writeRejected writes one dead-letter file, ordered by file and line so it
// is stable across runs, and returns its Stats entry.
func writeRejected(ctx context.Context, root, tmp string, key int, recs []rejectRecord) (Stats, error) {
	slices.SortFunc(recs, func(a, b rejectRecord) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Reason, b.Reason))
	})
	rel := fmt.Sprintf("%s/part-%05d.jsonl", dataset.RejectedDir, key)
	size, sum, err := writeAtomic(ctx, tmp, joinPath(root, rel), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for i := range recs {
			bw.Write(recs[i].encode())
			bw.WriteByte('\n')
		}
		return bw.Flush()
	})
	if err != nil {
		return Stats{}, err
	}
	return Stats{RejectedFiles: []dataset.File{{Path: rel, Rows: int64(len(recs)), Bytes: size, SHA256: sum}}}, nil
}
