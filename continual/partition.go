package continual

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nebras-ai/nebras/internal/filehash"
)

// DateLayout is how a partition's date=YYYY-MM-DD name and --since are
// written.
const DateLayout = "2006-01-02"

// Partition is one directory of tickets under the input root.
type Partition struct {
	// Name is the directory's name, e.g. date=2026-11-22.
	Name string `json:"name"`
	// SHA256 hashes the partition's ticket files, names and contents:
	// a partition whose files change is new again.
	SHA256 string `json:"sha256"`
	// Files are the ticket files, absolute, sorted.
	Files []string `json:"-"`
}

// Date returns the partition's date when its name is date=YYYY-MM-DD.
func (p Partition) Date() (time.Time, bool) {
	s, ok := strings.CutPrefix(p.Name, "date=")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(DateLayout, s)
	return t, err == nil
}

// ticketFile reports whether name is a ticket file a partition holds:
// JSONL, optionally gzipped.
func ticketFile(name string) bool {
	name = strings.TrimSuffix(name, ".gz")
	return strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson")
}

// hidden reports names a writer may still be filling (.tmp, _tmp): they
// are not read until renamed.
func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// Scan lists the partitions under root: each sub-directory holding ticket
// files (*.jsonl, *.ndjson, optionally .gz, at any depth) is one, in name
// order. Names starting with "." or "_" are skipped, so a writer can fill
// a partition under a temporary name and rename it when done.
func Scan(root string) ([]Partition, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("input root: %w", err)
	}
	var parts []Partition
	for _, e := range entries {
		if !e.IsDir() || hidden(e.Name()) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		var files []string
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != dir && hidden(d.Name()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && ticketFile(d.Name()) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("partition %s: %w", e.Name(), err)
		}
		if len(files) == 0 {
			continue
		}
		slices.Sort(files)
		h := sha256.New()
		for _, f := range files {
			sum, err := hashFile(f)
			if err != nil {
				return nil, fmt.Errorf("partition %s: %w", e.Name(), err)
			}
			rel, _ := filepath.Rel(dir, f)
			fmt.Fprintf(h, "%s %s\n", filepath.ToSlash(rel), sum)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		for i, f := range files {
			files[i] = filepath.Join(abs, strings.TrimPrefix(f, dir))
		}
		parts = append(parts, Partition{Name: e.Name(), SHA256: hex.EncodeToString(h.Sum(nil)), Files: files})
	}
	return parts, nil
}

// eachRecord calls fn with each line of a ticket file that holds a JSON
// object with a non-empty id; malformed lines are left to the data
// pipeline, which reports them.
func eachRecord(path string, fn func(id string, line []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '{' {
			var rec struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(t, &rec) == nil && rec.ID != "" {
				fn(rec.ID, t)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}

// countConversations counts the distinct conversation ids in files and
// returns them.
func countConversations(files []string) (map[string]bool, error) {
	ids := map[string]bool{}
	for _, f := range files {
		if err := eachRecord(f, func(id string, _ []byte) { ids[id] = true }); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// replayItem is a candidate conversation for the replay sample.
type replayItem struct {
	score uint64
	id    string
	line  []byte
}

// maxHeap keeps the n lowest-scored items: its root is the highest.
type maxHeap []replayItem

func (h maxHeap) Len() int { return len(h) }
func (h maxHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score > h[j].score
	}
	return h[i].id > h[j].id
}
func (h maxHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)   { *h = append(*h, x.(replayItem)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// sampleReplay picks n conversations from files, none of them in
// exclude, deterministically: each id is scored by a hash of the salt
// and the id, and the n lowest scores win (the first record of an id is
// the one kept). It returns the chosen records in score order.
func sampleReplay(files []string, exclude map[string]bool, n int, salt string) ([][]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	h := &maxHeap{}
	in := map[string]bool{}
	score := func(id string) uint64 {
		s := sha256.Sum256([]byte(salt + "\x00" + id))
		return binary.BigEndian.Uint64(s[:8])
	}
	for _, f := range files {
		err := eachRecord(f, func(id string, line []byte) {
			if exclude[id] || in[id] {
				return
			}
			it := replayItem{score: score(id), id: id}
			if h.Len() == n {
				top := (*h)[0]
				if !(it.score < top.score || it.score == top.score && it.id < top.id) {
					return
				}
				heap.Pop(h)
				delete(in, top.id)
			}
			it.line = slices.Clone(line)
			heap.Push(h, it)
			in[id] = true
		})
		if err != nil {
			return nil, err
		}
	}
	items := []replayItem(*h)
	slices.SortFunc(items, func(a, b replayItem) int {
		if a.score != b.score {
			if a.score < b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it.line
	}
	return out, nil
}

// hashFile returns the SHA-256 of a file's content.
func hashFile(path string) (string, error) {
	sum, _, err := filehash.SHA256(path)
	return sum, err
}
