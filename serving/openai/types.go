// Package openai holds the wire format of the OpenAI-compatible API that the
// serving package answers: the chat completion request, its decoding and
// validation, and the response, chunk, model list and error bodies.
//
// Nothing here knows about HTTP servers or models; the types are plain data
// so that handlers stay thin and the decoder can be fuzzed on its own.
package openai

// Chat roles a request may use. Developer is OpenAI's newer name for system.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Object names OpenAI puts in the "object" field of each body.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
	ObjectList                = "list"
	ObjectModel               = "model"
)

// ChatRequest is a decoded and validated chat completion request. Optional
// parameters the client left out (or sent as null) are nil.
type ChatRequest struct {
	// Model is the model the client asked for; "" when it did not say.
	Model string
	// Messages holds at least one message and ends with a user message.
	Messages []Message
	// MaxTokens is max_completion_tokens, or the older max_tokens; 0 when
	// neither was given.
	MaxTokens int
	// Temperature is in [0, 2].
	Temperature *float64
	// TopP is in (0, 1].
	TopP *float64
	// Stop holds at most MaxStop non-empty stop strings.
	Stop []string
	// Seed asks for reproducible sampling.
	Seed *int64
	// Stream asks for Server-Sent Events.
	Stream bool
	// IncludeUsage asks for a final chunk with the token usage
	// (stream_options.include_usage).
	IncludeUsage bool
	// User is the client's opaque end-user id; accepted and not used.
	User string
}

// Message is one message of the conversation, its content flattened to text.
type Message struct {
	// Role is one of RoleSystem, RoleDeveloper, RoleUser, RoleAssistant.
	Role string
	// Content is the message text: the string, or the text parts joined
	// with "\n". It is never empty.
	Content string
}

// ChatCompletion is the response to a request that did not stream.
type ChatCompletion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	Choices           []Choice `json:"choices"`
	Usage             Usage    `json:"usage"`
}

// Choice is one generated reply; the server makes exactly one.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

// ResponseMessage is the assistant's reply in a ChatCompletion.
type ResponseMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Usage counts the tokens of one request.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatCompletionChunk is one Server-Sent Event of a streamed reply.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	// Usage is set only on the last chunk, when the client asked for it.
	Usage *Usage `json:"usage,omitempty"`
}

// ChunkChoice is the part of a reply one chunk carries.
type ChunkChoice struct {
	Index int   `json:"index"`
	Delta Delta `json:"delta"`
	// FinishReason is null until the chunk that ends the reply.
	FinishReason *string `json:"finish_reason"`
}

// Delta is the new text of a chunk. The first chunk carries the role and
// empty content; the closing chunk is empty.
type Delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// Model describes a served model. Nebras adds where it came from.
type Model struct {
	ID      string     `json:"id"`
	Object  string     `json:"object"`
	Created int64      `json:"created"`
	OwnedBy string     `json:"owned_by"`
	Nebras  *ModelMeta `json:"nebras,omitempty"`
}

// ModelMeta is Nebras' extension of Model: the registry version and the
// run that trained it.
type ModelMeta struct {
	Version  string `json:"version,omitempty"`
	RunID    string `json:"run_id,omitempty"`
	Source   string `json:"source,omitempty"`
	LoadedAt string `json:"loaded_at,omitempty"` // RFC 3339
}

// ErrorResponse is the body of every error: {"error": {...}}.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is OpenAI's error object.
type ErrorBody struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   string `json:"param,omitempty"`
	Code    string `json:"code,omitempty"`
}
