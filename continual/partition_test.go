package continual

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	data := []byte(content)
	if strings.HasSuffix(path, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func record(id string) string {
	return fmt.Sprintf(`{"id":%q,"turns":[{"role":"customer","text":"hi %s"},{"role":"agent","text":"hello"}]}`+"\n", id, id)
}

func TestScan(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "date=2026-11-21", "a.jsonl"), record("a1")+record("a2"))
	writeFile(t, filepath.Join(root, "date=2026-11-22", "part-0.jsonl.gz"), record("b1"))
	writeFile(t, filepath.Join(root, "date=2026-11-22", "nested", "x.ndjson"), record("b2"))
	writeFile(t, filepath.Join(root, "date=2026-11-22", "_inflight.jsonl"), record("no"))
	writeFile(t, filepath.Join(root, "date=2026-11-22", "README.txt"), "not tickets")
	writeFile(t, filepath.Join(root, "manual-import", "t.jsonl"), record("c1"))
	writeFile(t, filepath.Join(root, "_staging", "t.jsonl"), record("no"))
	writeFile(t, filepath.Join(root, ".tmp-1", "t.jsonl"), record("no"))
	writeFile(t, filepath.Join(root, "empty", "notes.md"), "nothing")
	writeFile(t, filepath.Join(root, "top.jsonl"), record("no"))

	parts, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		var files []string
		for _, f := range p.Files {
			rel, _ := filepath.Rel(filepath.Join(root, p.Name), f)
			files = append(files, filepath.ToSlash(rel))
		}
		got = append(got, p.Name+":"+strings.Join(files, ","))
	}
	want := []string{"date=2026-11-21:a.jsonl", "date=2026-11-22:nested/x.ndjson,part-0.jsonl.gz", "manual-import:t.jsonl"}
	if !slices.Equal(got, want) {
		t.Fatalf("partitions %q, want %q", got, want)
	}
	if d, ok := parts[1].Date(); !ok || !d.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date of %s: %v %v", parts[1].Name, d, ok)
	}
	if _, ok := parts[2].Date(); ok {
		t.Errorf("%s has a date", parts[2].Name)
	}

	// A changed file changes its partition's hash, and only its.
	writeFile(t, filepath.Join(root, "date=2026-11-22", "nested", "x.ndjson"), record("b2")+record("b3"))
	again, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].SHA256 != parts[0].SHA256 || again[2].SHA256 != parts[2].SHA256 {
		t.Error("an unchanged partition's hash changed")
	}
	if again[1].SHA256 == parts[1].SHA256 {
		t.Error("a changed partition kept its hash")
	}
	ids, err := countConversations(again[1].Files)
	if err != nil || len(ids) != 3 {
		t.Errorf("conversations in %s: %v %v, want 3", again[1].Name, ids, err)
	}

	if _, err := Scan(filepath.Join(root, "missing")); err == nil || !strings.HasPrefix(err.Error(), "input root: ") {
		t.Errorf("missing root: %v", err)
	}
}

func TestCountConversations(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content string
		want          int
	}{
		{"plain", record("a") + record("b"), 2},
		{"duplicates count once", record("a") + record("a") + record("b"), 2},
		{"malformed and blank lines are not conversations", record("a") + "{not json\n\n" + `{"turns":[]}` + "\n[1]\n", 1},
		{"no final newline", strings.TrimSuffix(record("a")+record("b"), "\n"), 2},
		{"gzipped.gz", record("a") + record("b") + record("c"), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".jsonl")
			if strings.HasSuffix(tc.name, ".gz") {
				path = filepath.Join(dir, "x.jsonl.gz")
			}
			writeFile(t, path, tc.content)
			ids, err := countConversations([]string{path})
			if err != nil || len(ids) != tc.want {
				t.Errorf("got %d (%v), want %d", len(ids), err, tc.want)
			}
		})
	}
}

func TestSampleReplay(t *testing.T) {
	dir := t.TempDir()
	var a, b strings.Builder
	for i := range 30 {
		a.WriteString(record(fmt.Sprintf("a%02d", i)))
		b.WriteString(record(fmt.Sprintf("b%02d", i)))
	}
	a.WriteString(record("a00")) // a duplicate is one conversation
	fa, fb := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	writeFile(t, fa, a.String())
	writeFile(t, fb, b.String())
	files := []string{fa, fb}
	ids := func(lines [][]byte) []string {
		var out []string
		for _, l := range lines {
			out = append(out, strings.Split(string(l), `"`)[3])
		}
		return out
	}
	exclude := map[string]bool{"a01": true, "b07": true}

	cases := []struct {
		name string
		n    int
		salt string
		want int
	}{
		{"none", 0, "s", 0},
		{"some", 10, "s", 10},
		{"more than there are", 100, "s", 58}, // 60 ids, 2 excluded
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sampleReplay(files, exclude, tc.n, tc.salt)
			if err != nil {
				t.Fatal(err)
			}
			gotIDs := ids(got)
			if len(gotIDs) != tc.want {
				t.Fatalf("%d records, want %d", len(gotIDs), tc.want)
			}
			seen := map[string]bool{}
			for _, id := range gotIDs {
				if exclude[id] || seen[id] {
					t.Errorf("sample holds %s twice or excluded", id)
				}
				seen[id] = true
			}
			again, _ := sampleReplay(files, exclude, tc.n, tc.salt)
			if !slices.Equal(ids(again), gotIDs) {
				t.Error("the same inputs sampled differently")
			}
			// The file order does not matter, the salt does.
			rev, _ := sampleReplay([]string{fb, fa}, exclude, tc.n, tc.salt)
			if !slices.Equal(ids(rev), gotIDs) {
				t.Error("the file order changed the sample")
			}
		})
	}
	s1, _ := sampleReplay(files, nil, 10, "cycle 2")
	s2, _ := sampleReplay(files, nil, 10, "cycle 3")
	if slices.Equal(ids(s1), ids(s2)) {
		t.Error("two salts gave the same sample")
	}
}

func TestOptionsValidate(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "f")
	writeFile(t, file, "")
	cases := []struct {
		opt  Options
		want string
	}{
		{Options{InputRoot: root, ReplayRatio: 0.5}, ""},
		{Options{}, "--input-root: want a directory"},
		{Options{InputRoot: filepath.Join(root, "none")}, "--input-root: stat "},
		{Options{InputRoot: file}, "not a directory"},
		{Options{InputRoot: root, MinNewConversations: -1}, "--min-new-conversations -1: want 0 or more"},
		{Options{InputRoot: root, ReplayRatio: -0.1}, "--replay-ratio -0.1: want 0 to 100"},
	}
	for _, tc := range cases {
		err := tc.opt.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error %v, want %q", tc.opt, err, tc.want)
		}
	}
}
