package pipelines

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// maxLineBytes bounds one JSONL line. A longer line is rejected (its first
// rejectedRawBytes kept in the dead letter) rather than buffered whole.
const maxLineBytes = 32 << 20

// rejectedRawBytes bounds the raw copy of a record kept in a dead letter.
const rejectedRawBytes = 1 << 20

// inputFile is one input as planned by the driver.
type inputFile struct {
	Path   string
	Format string
	// Index is the file's position in the sorted input list; it orders CSV
	// rows across files.
	Index int
}

// input is an opened input file. Reads return decompressed bytes while the
// raw bytes are hashed and counted, so each file is read exactly once.
type input struct {
	raw   io.ReadCloser
	hash  hash.Hash
	count countingWriter
	r     io.Reader
	gz    *gzip.Reader
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// openInput opens path through Beam's filesystem and un-gzips it when it
// starts with the gzip magic number, whatever its name.
func openInput(ctx context.Context, path string) (*input, error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	in := &input{raw: rc, hash: sha256.New()}
	br := bufio.NewReaderSize(io.TeeReader(rc, io.MultiWriter(in.hash, &in.count)), 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		in.gz, err = gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		in.r = in.gz
	} else {
		in.r = br
	}
	return in, nil
}

// finish drains what the decoder did not consume (so the hash covers the
// whole file), closes it, and returns the file's sha256 and size.
func (in *input) finish() (string, int64, error) {
	_, err := io.Copy(io.Discard, in.r)
	if err == nil && in.gz != nil {
		err = in.gz.Close()
	}
	if cerr := in.raw.Close(); err == nil {
		err = cerr
	}
	return hex.EncodeToString(in.hash.Sum(nil)), in.count.n, err
}

// scanLines calls fn with each line (1-based number, bytes without the line
// ending). data is only valid during the call. A line longer than
// maxLineBytes is passed truncated with tooLong set and the rest skipped.
func scanLines(r io.Reader, fn func(line int64, data []byte, tooLong bool) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		lineNo  int64
		long    []byte
		tooLong bool
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if !tooLong {
				long = append(long, chunk...)
				if len(long) > maxLineBytes {
					tooLong = true
					long = long[:rejectedRawBytes:rejectedRawBytes]
				}
			}
			continue
		}
		if len(chunk) > 0 || long != nil {
			lineNo++
			data := chunk
			if long != nil {
				if !tooLong {
					long = append(long, chunk...)
				}
				data = long
			}
			data = bytes.TrimSuffix(data, []byte("\n"))
			data = bytes.TrimSuffix(data, []byte("\r"))
			if len(data) > maxLineBytes {
				data, tooLong = data[:rejectedRawBytes], true
			}
			if ferr := fn(lineNo, data, tooLong); ferr != nil {
				return ferr
			}
			long, tooLong = nil, false
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// recorder keeps the bytes a csv.Reader consumed so each record's raw text
// can be recovered from the reader's InputOffset for the dead letter.
type recorder struct {
	r    io.Reader
	buf  []byte
	base int64 // input offset of buf[0]
}

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	rc.buf = append(rc.buf, p[:n]...)
	return n, err
}

// span returns the raw bytes between two input offsets and forgets
// everything before end.
func (rc *recorder) span(start, end int64) []byte {
	lo, hi := start-rc.base, end-rc.base
	if lo < 0 || hi > int64(len(rc.buf)) || lo > hi {
		return nil
	}
	out := bytes.Clone(rc.buf[lo:hi])
	rc.buf = append(rc.buf[:0], rc.buf[hi:]...)
	rc.base = end
	return out
}
