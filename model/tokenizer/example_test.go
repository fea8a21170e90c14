package tokenizer_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/nebras-ai/nebras/model/tokenizer"
)

func ExampleGPT2() {
	tk, err := tokenizer.GPT2()
	if err != nil {
		log.Fatal(err)
	}
	ids := tk.Encode("Hello world<|endoftext|>")
	fmt.Println(ids)
	text, err := tk.Decode(ids)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", text)
	fmt.Println(tk.VocabSize(), tk.EOT())
	// Output:
	// [15496 995 50256]
	// "Hello world<|endoftext|>"
	// 50257 50256
}

func ExampleTokenizer_AppendOrdinary() {
	tk, err := tokenizer.GPT2()
	if err != nil {
		log.Fatal(err)
	}
	// Reusing one buffer keeps the loop free of allocations.
	var buf []int
	for _, turn := range []string{"I'd like a table for 2.", "Sure, at what time?"} {
		buf = tk.AppendOrdinary(buf[:0], turn)
		buf = append(buf, tk.EOT())
		fmt.Println(len(buf), buf[len(buf)-1])
	}
	// Output:
	// 9 50256
	// 7 50256
}

func ExampleTrain() {
	texts := []string{"low lower lowest", "new newer newest", "wide wider widest"}
	tk, err := tokenizer.Train(context.Background(), slices.Values(texts), tokenizer.TrainOptions{VocabSize: 270})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tk.VocabSize(), tk.NumMerges(), tk.EOT())
	fmt.Println(len(tk.Encode("lowest")), len(tk.Encode("newest")))
	// Output:
	// 270 13 269
	// 2 2
}
