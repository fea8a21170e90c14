package batcher

import (
	"errors"
	"time"

	"github.com/nebras-ai/nebras/model"
)

// Errors Submit returns before a request is queued. Handlers map them to
// HTTP statuses: ErrQueueFull → 429, ErrClosed and ErrNoModel → 503,
// ErrUnknownAdapter → 404.
var (
	ErrQueueFull      = errors.New("the request queue is full")
	ErrClosed         = errors.New("the scheduler is shutting down")
	ErrNoModel        = errors.New("no model is loaded")
	ErrUnknownAdapter = errors.New("unknown adapter")
)

// Request is one generation: a prompt already rendered with the chat
// template and the decoding options the client asked for.
type Request struct {
	// Prompt is the rendered conversation, ending in "Agent:".
	Prompt string
	// Adapter names the LoRA adapter (one per tenant) to decode with; ""
	// is the base model. Only "" is served today.
	Adapter string
	// MaxTokens caps the generated tokens (> 0).
	MaxTokens int
	// MaxPromptTokens keeps only the last N prompt tokens, cutting from the
	// left as training did; 0 keeps what fits the context beside MaxTokens.
	MaxPromptTokens int
	// Sampling is temperature, top-p and seed; zero is greedy.
	Sampling model.Sampling
	// Stop strings end the reply (the text is cut before them).
	Stop []string
}

// Result is a finished generation.
type Result struct {
	Text             string
	FinishReason     string // model.FinishStop or model.FinishLength
	PromptTokens     int    // prompt tokens the model saw
	CompletionTokens int    // tokens generated
	TruncatedTokens  int    // prompt tokens cut from the left
	Queued           time.Duration
	FirstToken       time.Duration // from Submit to the first token
	Model            ModelInfo     // the model that produced it
}

// ModelInfo describes a loaded model version.
type ModelInfo struct {
	// ID is the model's public name in the API: "NAME" for a registry
	// model, the directory's base name otherwise.
	ID       string
	Name     string // registered model name; "" for a directory
	Version  string // registry version; "" for a directory
	RunID    string // the MLflow run that trained it, when known
	Source   string // "models:/NAME@alias" or the directory
	Dir      string // where the weights were read from
	LoadedAt time.Time
}

// Stats is a scheduler's load at one moment.
type Stats struct {
	Queued int // requests waiting for a slot
	Active int // sequences decoding
	Slots  int // the most sequences decoded together
}

// Observer receives a scheduler's measurements; the server's Prometheus
// metrics implement it. Calls come from the decode loop and must be cheap.
type Observer interface {
	// ObserveStep is called after each batched decode step with the number
	// of sequences it advanced and the tokens it processed (prompt tokens
	// of joining sequences included).
	ObserveStep(seqs, tokens int, d time.Duration)
}
