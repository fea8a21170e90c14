package synth_test

import (
	"bufio"
	"fmt"
	"io"

	"github.com/nebras-ai/nebras/transforms/synth"
)

func ExampleGenerate() {
	opts := synth.DefaultOptions()
	opts.N = 1000
	opts.Seed = 7

	// A real caller writes to a file; bufio is enough to show the shape.
	w := bufio.NewWriter(io.Discard)
	rep, err := synth.Generate(w, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("distinct conversations:", rep.Conversations)
	fmt.Println("lines = conversations + duplicates + malformed:",
		rep.Lines == rep.Conversations+rep.Duplicates+rep.Malformed)
	// Output:
	// distinct conversations: 1000
	// lines = conversations + duplicates + malformed: true
}
