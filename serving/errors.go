package serving

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/openai"
)

// Error codes the server puts in error bodies, beside the decoder's
// (openai.Code*).
const (
	codeBodyTooLarge     = "body_too_large"
	codeQueueFull        = "queue_full"
	codeRateLimited      = "rate_limited"
	codeModelNotFound    = "model_not_found"
	codeTimeout          = "timeout"
	codeNoModel          = "no_model"
	codeShuttingDown     = "shutting_down"
	codeUnknownAdapter   = "unknown_adapter"
	codeInvalidAPIKey    = "invalid_api_key"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal_error"
)

// apiError is an error answer: a status and OpenAI's error object, plus a
// Retry-After in seconds for 429s.
type apiError struct {
	status     int
	body       openai.ErrorBody
	retryAfter int
}

func newAPIError(status int, typ, code, message string) *apiError {
	return &apiError{status: status, body: openai.ErrorBody{Message: message, Type: typ, Code: code}}
}

// abortWith writes e as the response and stops the handler chain.
func abortWith(c *gin.Context, e *apiError) {
	if e.retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.retryAfter))
	}
	c.AbortWithStatusJSON(e.status, openai.ErrorResponse{Error: e.body})
}

// queueRetryAfter is the Retry-After of a full queue. A slot frees as soon
// as one sequence of the batch finishes, which on any model the server
// runs takes seconds at most, so a client should come back soon rather
// than back off for long.
const queueRetryAfter = 1

// backendError maps an error of Backend.Submit, or one that ended a
// generation, to its answer. ok is false for errors that are not the
// backend's documented ones; the caller answers those with a 500 and logs
// them, since their text may hold internal details.
func backendError(err error) (e *apiError, ok bool) {
	switch {
	case errors.Is(err, batcher.ErrQueueFull):
		e = newAPIError(http.StatusTooManyRequests, openai.TypeRateLimit, codeQueueFull,
			"The server is busy: the request queue is full. Retry after the delay in the Retry-After header.")
		e.retryAfter = queueRetryAfter
	case errors.Is(err, batcher.ErrNoModel):
		e = newAPIError(http.StatusServiceUnavailable, openai.TypeServer, codeNoModel, "No model is loaded yet; retry shortly.")
	case errors.Is(err, batcher.ErrClosed):
		e = newAPIError(http.StatusServiceUnavailable, openai.TypeServer, codeShuttingDown, "The server is shutting down; retry on another instance.")
	case errors.Is(err, batcher.ErrInvalidRequest):
		// The decoder rejects what the scheduler would; this is the
		// backstop, and its text names only the request's own values.
		e = newAPIError(http.StatusBadRequest, openai.TypeInvalidRequest, openai.CodeInvalidValue, strings.TrimPrefix(err.Error(), batcher.ErrInvalidRequest.Error()+": "))
	case errors.Is(err, batcher.ErrUnknownAdapter):
		e = newAPIError(http.StatusNotFound, openai.TypeNotFound, codeUnknownAdapter, "The requested adapter does not exist.")
	default:
		return internalError(), false
	}
	return e, true
}

func internalError() *apiError {
	return newAPIError(http.StatusInternalServerError, openai.TypeServer, codeInternal,
		"The server failed to answer; the error is logged under this response's X-Request-ID.")
}

func timeoutError() *apiError {
	return newAPIError(http.StatusGatewayTimeout, openai.TypeServer, codeTimeout,
		"The reply took longer than the server's request timeout.")
}
