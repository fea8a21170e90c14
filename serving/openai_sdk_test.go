package serving_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/serving"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/manager"
	"github.com/nebras-ai/nebras/transforms"
)

// TestOpenAIClient talks to the real server, model manager and scheduler
// with OpenAI's official Go SDK: the compatibility users rely on.
func TestOpenAIClient(t *testing.T) {
	tok, err := tokenizer.GPT2()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.NamedConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, tok, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "support-tiny")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	mgr := manager.New(manager.DirSource{Dir: dir}, kernels.NewCPU(2), manager.Options{Scheduler: batcher.Options{MaxBatch: 4}})
	ctx := context.Background()
	if err := mgr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	defer mgr.Close(ctx)
	srv, err := serving.New(mgr, serving.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	client := openai.NewClient(option.WithBaseURL(hs.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))

	params := openai.ChatCompletionNewParams{
		Model: "support-tiny",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.DeveloperMessage("Be brief."),
			openai.UserMessage("My parcel is late."),
			openai.AssistantMessage("Sorry to hear that. What is the order number?"),
			openai.UserMessage("It is 12345."),
		},
		MaxTokens:   openai.Int(6),
		Temperature: openai.Float(0),
	}
	res, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	prompt := transforms.RenderPrompt([]transforms.Turn{
		{Role: transforms.RoleSystem, Text: "Be brief."},
		{Role: transforms.RoleCustomer, Text: "My parcel is late."},
		{Role: transforms.RoleAgent, Text: "Sorry to hear that. What is the order number?"},
		{Role: transforms.RoleCustomer, Text: "It is 12345."},
	})
	if want := len(tok.AppendOrdinary(nil, prompt)); res.Usage.PromptTokens != int64(want) {
		t.Errorf("prompt_tokens = %d, want %d for %q", res.Usage.PromptTokens, want, prompt)
	}
	if len(res.Choices) != 1 || res.Model != "support-tiny" || res.Usage.CompletionTokens < 1 || res.Usage.CompletionTokens > 6 ||
		res.Usage.TotalTokens != res.Usage.PromptTokens+res.Usage.CompletionTokens {
		t.Fatalf("response = %+v", res)
	}
	want := res.Choices[0].Message.Content
	if want == "" {
		t.Fatal("empty reply: the comparison below would prove nothing")
	}

	// The same greedy request streamed gives the same text.
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != want || acc.Choices[0].FinishReason != res.Choices[0].FinishReason {
		t.Fatalf("streamed %+v, want %q (%s)", acc.Choices, want, res.Choices[0].FinishReason)
	}
	if chunks < 3 {
		t.Errorf("%d chunks: want a role chunk, content and a finish chunk", chunks)
	}

	// OpenAI's errors come back as the SDK's typed errors.
	params.Model = "gpt-4o"
	_, err = client.Chat.Completions.New(ctx, params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "support-tiny" {
		t.Fatalf("models = %+v", page.Data)
	}
}
