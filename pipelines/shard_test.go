package pipelines

import (
	"math/rand/v2"
	"testing"
)

// TestDuplicatesKeepSmallestIdentity: whatever order duplicates arrive in,
// the survivor is the smallest (id, file, line) and every other copy loses.
func TestDuplicatesKeepSmallestIdentity(t *testing.T) {
	var a, b [32]byte
	a[0], b[0] = 1, 2
	fps := []fingerprint{
		{Key: a, ID: "T9", Ref: recordRef{"x.jsonl", 1}},
		{Key: a, ID: "T2", Ref: recordRef{"y.jsonl", 7}},
		{Key: a, ID: "T2", Ref: recordRef{"x.jsonl", 9}}, // survivor: smallest id, then file
		{Key: b, ID: "T5", Ref: recordRef{"x.jsonl", 3}},
	}
	for range 20 {
		rand.Shuffle(len(fps), func(i, j int) { fps[i], fps[j] = fps[j], fps[i] })
		losers := duplicates(append([]fingerprint(nil), fps...))
		if len(losers) != 2 {
			t.Fatalf("losers %+v, want 2", losers)
		}
		for _, l := range losers {
			if l.Ref == (recordRef{"x.jsonl", 9}) || l.Key == b {
				t.Fatalf("%+v lost, want it kept", l)
			}
		}
	}
}

func TestFingerprintWireRoundTrip(t *testing.T) {
	fp := fingerprint{ID: "TCK-7", Ref: recordRef{File: "gs://b/a.csv", Line: 12}}
	fp.Key[3] = 0xee
	got, err := decodeFingerprint(fp.appendTo(nil))
	if err != nil || got != fp {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	if _, err := decodeFingerprint(fp.appendTo(nil)[:10]); err == nil {
		t.Fatal("decoded a truncated fingerprint")
	}
}
