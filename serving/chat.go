package serving

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/openai"
	"github.com/nebras-ai/nebras/transforms"
)

// templateStops end a reply where the chat template would start the next
// turn: a model trained on whole conversations goes on to write the
// customer's next message unless stopped.
var templateStops = []string{"\nCustomer:", "\nAgent:", "\nSystem:"}

// defaultTemperature is OpenAI's default, used when a request gives none,
// so that clients written for OpenAI get the sampling they expect.
const defaultTemperature = 1.0

// chatTurns turns a request's messages into template turns, prepared the
// way the data pipeline prepared training conversations
// (transforms.Prepare): each text goes through transforms.CleanText and
// then transforms.Redact, so the model sees "[EMAIL]" where training saw
// it rather than an address it never learned, and quoted replies,
// signatures and markup are gone. A message that cleaning empties is
// dropped, as the pipeline drops such turns, except the user's last one:
// with nothing to reply to, the request is refused.
//
// Roles map to the template's: system and developer to System, user to
// Customer, assistant to Agent.
func chatTurns(msgs []openai.Message) ([]transforms.Turn, error) {
	turns := make([]transforms.Turn, 0, len(msgs))
	for i, m := range msgs {
		text, _ := transforms.Redact(transforms.CleanText(m.Content))
		if text == "" {
			if i == len(msgs)-1 {
				param := fmt.Sprintf("messages[%d].content", i)
				return nil, &openai.RequestError{Param: param, Code: openai.CodeInvalidValue,
					Message: fmt.Sprintf("'%s' holds no text once markup, quoted replies and signatures are removed", param)}
			}
			continue
		}
		var role transforms.Role
		switch m.Role {
		case openai.RoleSystem, openai.RoleDeveloper:
			role = transforms.RoleSystem
		case openai.RoleUser:
			role = transforms.RoleCustomer
		case openai.RoleAssistant:
			role = transforms.RoleAgent
		default:
			return nil, fmt.Errorf("chat turns: message %d has role %q, which the decoder should have refused", i, m.Role)
		}
		turns = append(turns, transforms.Turn{Role: role, Text: text})
	}
	return turns, nil
}

// generationRequest renders the conversation and applies the server's
// defaults to the client's decoding options.
func generationRequest(req *openai.ChatRequest, turns []transforms.Turn, lim Limits) batcher.Request {
	r := batcher.Request{
		Prompt:          transforms.RenderPrompt(turns),
		MaxTokens:       req.MaxTokens,
		MaxPromptTokens: lim.MaxPromptTokens,
		Sampling:        model.Sampling{Temperature: defaultTemperature},
		Stop:            append(append([]string(nil), templateStops...), req.Stop...),
	}
	if r.MaxTokens == 0 {
		r.MaxTokens = lim.DefaultMaxTokens
	}
	if req.Temperature != nil {
		r.Sampling.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		r.Sampling.TopP = *req.TopP
	}
	if req.Seed != nil {
		r.Sampling.Seed = uint64(*req.Seed)
	} else {
		r.Sampling.Seed = mrand.Uint64()
	}
	return r
}

// replyTrimmer trims white space around a streamed reply as
// strings.TrimSpace trims a whole one: the template puts a space before
// every reply, and a reply may end in a newline before a stop marker.
// Leading space is dropped; trailing space is held back until more text
// follows it.
type replyTrimmer struct {
	started bool
	held    string
}

// push takes the next piece and returns the text to send now.
func (t *replyTrimmer) push(piece string) string {
	if !t.started {
		piece = strings.TrimLeftFunc(piece, unicode.IsSpace)
		if piece == "" {
			return ""
		}
		t.started = true
	}
	piece = t.held + piece
	out := strings.TrimRightFunc(piece, unicode.IsSpace)
	t.held = piece[len(out):]
	return out
}

// readBody reads a request body of at most max bytes. It bounds the time
// spent reading, since the server sets no ReadTimeout (one would cut
// streams short), and clears the bound once the body is in.
func readBody(c *gin.Context, max int64, timeout time.Duration) ([]byte, error) {
	if c.Request.ContentLength > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	rc := http.NewResponseController(c.Writer)
	// Recorders in tests and some wrappers cannot set deadlines; the
	// body is then read without one.
	if rc.SetReadDeadline(time.Now().Add(timeout)) == nil {
		defer rc.SetReadDeadline(time.Time{})
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, max))
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	return body, nil
}

// chatCall is one chat completion in flight.
type chatCall struct {
	s       *Server
	c       *gin.Context
	req     *openai.ChatRequest
	id      string
	created int64
	model   batcher.ModelInfo
	start   time.Time
	// ctx bounds the generation: the client's request context with the
	// request timeout.
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *Server) chat(c *gin.Context) {
	body, err := readBody(c, s.lim.MaxBodyBytes, s.lim.RequestTimeout)
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			s.metrics.reject(rejectTooLarge)
			abortWith(c, newAPIError(http.StatusRequestEntityTooLarge, openai.TypeInvalidRequest, codeBodyTooLarge,
				fmt.Sprintf("The request body is larger than this server's limit of %d bytes.", s.lim.MaxBodyBytes)))
			return
		}
		if c.Request.Context().Err() != nil {
			c.Set(ctxClientGone, true)
			c.Abort()
			return
		}
		s.metrics.reject(rejectInvalid)
		abortWith(c, newAPIError(http.StatusBadRequest, openai.TypeInvalidRequest, openai.CodeInvalidJSON,
			"The request body could not be read."))
		return
	}
	req, err := openai.DecodeChatRequest(body, openai.Limits{MaxMessages: s.lim.MaxMessages, MaxTokens: s.lim.MaxTokens})
	if err != nil {
		s.refuse(c, err)
		return
	}
	info, ok := s.backend.Model()
	if !ok {
		e, _ := backendError(batcher.ErrNoModel)
		abortWith(c, e)
		return
	}
	if req.Model != "" && req.Model != info.ID {
		s.metrics.reject(rejectInvalid)
		abortWith(c, modelNotFound(req.Model, info.ID))
		return
	}
	turns, err := chatTurns(req.Messages)
	if err != nil {
		s.refuse(c, err)
		return
	}

	ctx, cancel := context.WithTimeout(c.Request.Context(), s.lim.RequestTimeout)
	defer cancel()
	call := &chatCall{
		s: s, c: c, req: req, model: info, ctx: ctx, cancel: cancel,
		id:    "chatcmpl-" + rand.Text(),
		start: time.Now(),
	}
	call.created = call.start.Unix()
	st, err := s.backend.Submit(ctx, generationRequest(req, turns, s.lim))
	if err != nil {
		call.fail(err)
		return
	}
	if req.Stream {
		call.stream(st)
	} else {
		call.complete(st)
	}
}

// refuse answers a request the decoder or chatTurns refused.
func (s *Server) refuse(c *gin.Context, err error) {
	var re *openai.RequestError
	if !errors.As(err, &re) {
		s.log.Error("chat request", "request_id", c.GetString(ctxRequestID), "err", err)
		abortWith(c, internalError())
		return
	}
	s.metrics.reject(rejectInvalid)
	abortWith(c, &apiError{status: http.StatusBadRequest, body: re.Body()})
}

// wait returns the stream's result, or the context's error if the
// generation context ended first: a backend that is slow to notice a
// cancellation must not hold the answer.
func (call *chatCall) wait(st *batcher.Stream) (batcher.Result, error) {
	select {
	case <-st.Done():
	case <-call.ctx.Done():
		select {
		case <-st.Done(): // both ended: the result wins
		default:
			return batcher.Result{}, call.ctx.Err()
		}
	}
	return st.Wait()
}

// reason classifies how a generation that returned err ended.
func (call *chatCall) reason(err error) string {
	switch {
	case call.c.Request.Context().Err() != nil:
		return finishCancelled
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(call.ctx.Err(), context.DeadlineExceeded):
		return finishTimeout
	case errors.Is(err, context.Canceled):
		return finishCancelled
	}
	return finishError
}

// fail answers a generation that could not start or did not finish,
// before anything was written.
func (call *chatCall) fail(err error) {
	c, s := call.c, call.s
	if errors.Is(err, batcher.ErrQueueFull) {
		s.metrics.reject(rejectQueueFull)
		e, _ := backendError(err)
		abortWith(c, e)
		return
	}
	reason := call.reason(err)
	s.metrics.finish(reason)
	switch reason {
	case finishCancelled:
		// The client is gone: nothing to write. Its context is cancelled,
		// which freed the slot.
		c.Set(ctxClientGone, true)
		c.Abort()
	case finishTimeout:
		abortWith(c, timeoutError())
	default:
		e, known := backendError(err)
		if !known {
			s.log.Error("generation failed", "request_id", c.GetString(ctxRequestID), "err", err)
		}
		abortWith(c, e)
	}
}

// done records a finished generation in the metrics and the request log.
func (call *chatCall) done(res batcher.Result) {
	call.s.metrics.observeGeneration(res, time.Since(call.start))
	call.c.Set(ctxPromptTokens, res.PromptTokens)
	call.c.Set(ctxCompletionTokens, res.CompletionTokens)
}

func (call *chatCall) modelOf(res batcher.Result) batcher.ModelInfo {
	// The scheduler may have swapped models since Submit; the answer names
	// the one that wrote it.
	if res.Model.ID != "" {
		return res.Model
	}
	return call.model
}

func usage(res batcher.Result) openai.Usage {
	return openai.Usage{
		PromptTokens:     res.PromptTokens,
		CompletionTokens: res.CompletionTokens,
		TotalTokens:      res.PromptTokens + res.CompletionTokens,
	}
}

// completion builds the answer to a request that did not stream.
func completion(id string, created int64, info batcher.ModelInfo, res batcher.Result) openai.ChatCompletion {
	return openai.ChatCompletion{
		ID:                id,
		Object:            openai.ObjectChatCompletion,
		Created:           created,
		Model:             info.ID,
		SystemFingerprint: info.Version,
		Choices: []openai.Choice{{
			Message:      openai.ResponseMessage{Role: openai.RoleAssistant, Content: strings.TrimSpace(res.Text)},
			FinishReason: res.FinishReason,
		}},
		Usage: usage(res),
	}
}

func (call *chatCall) complete(st *batcher.Stream) {
	res, err := call.wait(st)
	if err != nil {
		call.fail(err)
		return
	}
	call.done(res)
	call.c.JSON(http.StatusOK, completion(call.id, call.created, call.modelOf(res), res))
}

// chunk builds one streamed event.
func (call *chatCall) chunk(info batcher.ModelInfo, delta openai.Delta, finish *string) openai.ChatCompletionChunk {
	return openai.ChatCompletionChunk{
		ID:                call.id,
		Object:            openai.ObjectChatCompletionChunk,
		Created:           call.created,
		Model:             info.ID,
		SystemFingerprint: info.Version,
		Choices:           []openai.ChunkChoice{{Delta: delta, FinishReason: finish}},
	}
}

// sseWriter writes Server-Sent Events, flushing each, and remembers the
// first write error (the client is gone) so later writes are skipped.
type sseWriter struct {
	w   gin.ResponseWriter
	err error
}

func (w *sseWriter) event(v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("encoding an event: %w", err)
		return
	}
	w.raw(b)
}

func (w *sseWriter) raw(data []byte) {
	if w.err != nil {
		return
	}
	var buf bytes.Buffer
	buf.Grow(len(data) + 8)
	buf.WriteString("data: ")
	buf.Write(data)
	buf.WriteString("\n\n")
	if _, err := w.w.Write(buf.Bytes()); err != nil {
		w.err = err
		return
	}
	w.w.Flush()
}

// stream answers with Server-Sent Events in OpenAI's chunk format: a first
// chunk with the role, one chunk per piece of text, a chunk with the
// finish reason, the usage when asked for, then [DONE]. An error after the
// first event is sent as a data event holding the error object, and the
// stream ends without [DONE].
func (call *chatCall) stream(st *batcher.Stream) {
	c := call.c
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would buffer the stream otherwise
	c.Status(http.StatusOK)
	w := &sseWriter{w: c.Writer}
	empty := ""
	w.event(call.chunk(call.model, openai.Delta{Role: openai.RoleAssistant, Content: &empty}, nil))

	var trim replyTrimmer
	text := st.Text()
	for text != nil && w.err == nil {
		select {
		case piece, ok := <-text:
			if !ok {
				text = nil
				break
			}
			if out := trim.push(piece); out != "" {
				w.event(call.chunk(call.model, openai.Delta{Content: &out}, nil))
			}
		case <-call.ctx.Done():
			text = nil
		}
	}
	if w.err != nil {
		// The client stopped reading: end the generation now so its slot
		// frees, and wait for the backend to let go of it.
		call.cancel()
	}
	res, err := call.wait(st)
	if err == nil && w.err != nil {
		err = w.err
	}
	if err != nil {
		reason := call.reason(err)
		if w.err != nil {
			reason = finishCancelled
		}
		call.s.metrics.finish(reason)
		if reason == finishCancelled {
			c.Set(ctxClientGone, true)
			return
		}
		e := timeoutError()
		if reason != finishTimeout {
			var known bool
			if e, known = backendError(err); !known {
				call.s.log.Error("generation failed", "request_id", c.GetString(ctxRequestID), "err", err)
			}
		}
		w.event(openai.ErrorResponse{Error: e.body})
		return
	}
	call.done(res)
	info := call.modelOf(res)
	finish := res.FinishReason
	w.event(call.chunk(info, openai.Delta{}, &finish))
	if call.req.IncludeUsage {
		u := usage(res)
		last := call.chunk(info, openai.Delta{}, nil)
		last.Choices = []openai.ChunkChoice{}
		last.Usage = &u
		w.event(last)
	}
	w.raw([]byte("[DONE]"))
}
