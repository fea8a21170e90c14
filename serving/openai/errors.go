package openai

import "fmt"

// Error types, as OpenAI names them in ErrorBody.Type.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
)

// Codes DecodeChatRequest puts in a RequestError.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeInvalidUTF8     = "invalid_utf8"
	CodeInvalidType     = "invalid_type"
	CodeInvalidValue    = "invalid_value"
	CodeMissing         = "missing_required_parameter"
	CodeTooManyMessages = "too_many_messages"
	CodeUnsupported     = "unsupported_value"
)

// RequestError is a request the decoder refused. It is always the client's
// fault (HTTP 400) and its message is safe to send back: it names the
// parameter and never quotes more than a short piece of the input.
type RequestError struct {
	// Param is the offending parameter as a path, such as
	// "messages[2].content"; "" when the body as a whole is wrong.
	Param   string
	Code    string
	Message string
}

func (e *RequestError) Error() string { return e.Message }

// Body returns the error as OpenAI's error object.
func (e *RequestError) Body() ErrorBody {
	return ErrorBody{Message: e.Message, Type: TypeInvalidRequest, Param: e.Param, Code: e.Code}
}

func reqErr(param, code, format string, args ...any) *RequestError {
	return &RequestError{Param: param, Code: code, Message: fmt.Sprintf(format, args...)}
}
