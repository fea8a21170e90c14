package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxStop is the most stop strings a request may give, as in OpenAI's API.
const MaxStop = 4

// Limits bound what DecodeChatRequest accepts.
type Limits struct {
	// MaxMessages is the most messages a conversation may hold; 0 means no
	// limit.
	MaxMessages int
	// MaxTokens is the largest max_tokens a client may ask for; 0 means no
	// limit.
	MaxTokens int
}

// DecodeChatRequest decodes and validates the body of POST
// /v1/chat/completions. It returns a *RequestError for anything a client
// got wrong: a body that is not valid UTF-8 or not a JSON object, a known
// parameter of the wrong type or out of range, an empty or unknown message,
// a conversation that does not end with the user. Parameters it does not
// know are ignored, because OpenAI's SDKs send some (logprobs, tools, ...)
// with their default values.
//
// The body is checked for UTF-8 before decoding because encoding/json
// silently replaces invalid bytes with U+FFFD, and a prompt should not be
// changed behind the client's back.
func DecodeChatRequest(data []byte, lim Limits) (*ChatRequest, error) {
	if !utf8.Valid(data) {
		return nil, reqErr("", CodeInvalidUTF8, "the request body is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, reqErr("", CodeInvalidJSON, "the request body is not valid JSON: %s (at byte %d)", syn.Error(), syn.Offset)
		case errors.As(err, new(*json.UnmarshalTypeError)):
			return nil, reqErr("", CodeInvalidJSON, "the request body must be a JSON object")
		default:
			return nil, reqErr("", CodeInvalidJSON, "the request body is not valid JSON")
		}
	}
	if fields == nil {
		return nil, reqErr("", CodeInvalidJSON, "the request body must be a JSON object, not null")
	}

	r := &ChatRequest{}
	var err error
	if raw, ok := present(fields, "model"); ok {
		if r.Model, err = decodeString("model", raw); err != nil {
			return nil, err
		}
	}
	raw, ok := present(fields, "messages")
	if !ok {
		return nil, reqErr("messages", CodeMissing, "'messages' is required")
	}
	if r.Messages, err = decodeMessages(raw, lim.MaxMessages); err != nil {
		return nil, err
	}
	// max_completion_tokens replaced max_tokens in OpenAI's API; both are
	// accepted and the newer one wins when a client sends both.
	for _, name := range []string{"max_tokens", "max_completion_tokens"} {
		raw, ok := present(fields, name)
		if !ok {
			continue
		}
		n, err := decodeInt(name, raw)
		if err != nil {
			return nil, err
		}
		switch {
		case n < 1:
			return nil, reqErr(name, CodeInvalidValue, "'%s' is %d; it must be at least 1", name, n)
		case lim.MaxTokens > 0 && n > int64(lim.MaxTokens):
			return nil, reqErr(name, CodeInvalidValue, "'%s' is %d; this server allows at most %d", name, n, lim.MaxTokens)
		case n > math.MaxInt32:
			return nil, reqErr(name, CodeInvalidValue, "'%s' is %d; it must be at most %d", name, n, math.MaxInt32)
		}
		r.MaxTokens = int(n)
	}
	if raw, ok := present(fields, "temperature"); ok {
		t, err := decodeFloat("temperature", raw)
		if err != nil {
			return nil, err
		}
		if !(t >= 0 && t <= 2) {
			return nil, reqErr("temperature", CodeInvalidValue, "'temperature' is %g; it must be between 0 and 2", t)
		}
		r.Temperature = &t
	}
	if raw, ok := present(fields, "top_p"); ok {
		p, err := decodeFloat("top_p", raw)
		if err != nil {
			return nil, err
		}
		if !(p > 0 && p <= 1) {
			return nil, reqErr("top_p", CodeInvalidValue, "'top_p' is %g; it must be greater than 0 and at most 1", p)
		}
		r.TopP = &p
	}
	if raw, ok := present(fields, "stop"); ok {
		if r.Stop, err = decodeStop(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := present(fields, "seed"); ok {
		s, err := decodeInt("seed", raw)
		if err != nil {
			return nil, err
		}
		r.Seed = &s
	}
	if raw, ok := present(fields, "n"); ok {
		n, err := decodeInt("n", raw)
		if err != nil {
			return nil, err
		}
		switch {
		case n < 1:
			return nil, reqErr("n", CodeInvalidValue, "'n' is %d; it must be 1", n)
		case n > 1:
			return nil, reqErr("n", CodeUnsupported, "'n' is %d; this server generates one choice per request, so n must be 1", n)
		}
	}
	if raw, ok := present(fields, "stream"); ok {
		if r.Stream, err = decodeBool("stream", raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := present(fields, "stream_options"); ok {
		opts, err := decodeObject("stream_options", raw)
		if err != nil {
			return nil, err
		}
		if raw, ok := present(opts, "include_usage"); ok {
			if r.IncludeUsage, err = decodeBool("stream_options.include_usage", raw); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := present(fields, "user"); ok {
		if r.User, err = decodeString("user", raw); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func decodeMessages(raw json.RawMessage, maxMessages int) ([]Message, error) {
	var items []json.RawMessage
	if kind(raw) != "an array" {
		return nil, typeErr("messages", "an array of messages", raw)
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, reqErr("messages", CodeInvalidType, "'messages' must be an array of messages")
	}
	switch {
	case len(items) == 0:
		return nil, reqErr("messages", CodeInvalidValue, "'messages' must hold at least one message")
	case maxMessages > 0 && len(items) > maxMessages:
		return nil, reqErr("messages", CodeTooManyMessages, "'messages' holds %d messages; this server allows at most %d", len(items), maxMessages)
	}
	msgs := make([]Message, len(items))
	for i, item := range items {
		m, err := decodeMessage(fmt.Sprintf("messages[%d]", i), item)
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	if last := msgs[len(msgs)-1]; last.Role != RoleUser {
		return nil, reqErr(fmt.Sprintf("messages[%d].role", len(msgs)-1), CodeInvalidValue,
			"the last message must be from the user, not %q; the assistant replies to the user", last.Role)
	}
	return msgs, nil
}

func decodeMessage(param string, raw json.RawMessage) (Message, error) {
	fields, err := decodeObject(param, raw)
	if err != nil {
		return Message{}, err
	}
	var m Message
	rawRole, ok := present(fields, "role")
	if !ok {
		return Message{}, reqErr(param+".role", CodeMissing, "'%s.role' is required", param)
	}
	if m.Role, err = decodeString(param+".role", rawRole); err != nil {
		return Message{}, err
	}
	switch m.Role {
	case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant:
	case "tool", "function":
		return Message{}, reqErr(param+".role", CodeUnsupported,
			"'%s.role' is %q; this server does not call tools, so the roles are system, developer, user and assistant", param, m.Role)
	default:
		return Message{}, reqErr(param+".role", CodeInvalidValue,
			"'%s.role' is %s; it must be one of system, developer, user, assistant", param, quoteShort(m.Role))
	}
	rawContent, ok := present(fields, "content")
	if !ok {
		return Message{}, reqErr(param+".content", CodeMissing, "'%s.content' is required", param)
	}
	if m.Content, err = decodeContent(param+".content", rawContent); err != nil {
		return Message{}, err
	}
	return m, nil
}

// decodeContent flattens a message's content, a string or an array of text
// parts, to text.
func decodeContent(param string, raw json.RawMessage) (string, error) {
	var text string
	switch kind(raw) {
	case "a string":
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", typeErr(param, "a string or an array of text parts", raw)
		}
	case "an array":
		var parts []json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", typeErr(param, "a string or an array of text parts", raw)
		}
		texts := make([]string, 0, len(parts))
		for i, p := range parts {
			pp := fmt.Sprintf("%s[%d]", param, i)
			fields, err := decodeObject(pp, p)
			if err != nil {
				return "", err
			}
			rawType, ok := present(fields, "type")
			if !ok {
				return "", reqErr(pp+".type", CodeMissing, "'%s.type' is required", pp)
			}
			typ, err := decodeString(pp+".type", rawType)
			if err != nil {
				return "", err
			}
			if typ != "text" {
				return "", reqErr(pp+".type", CodeUnsupported, "'%s.type' is %s; this server reads only \"text\" parts", pp, quoteShort(typ))
			}
			rawText, ok := present(fields, "text")
			if !ok {
				return "", reqErr(pp+".text", CodeMissing, "'%s.text' is required", pp)
			}
			t, err := decodeString(pp+".text", rawText)
			if err != nil {
				return "", err
			}
			if strings.TrimSpace(t) != "" {
				texts = append(texts, t)
			}
		}
		text = strings.Join(texts, "\n")
	default:
		return "", typeErr(param, "a string or an array of text parts", raw)
	}
	if strings.TrimSpace(text) == "" {
		return "", reqErr(param, CodeInvalidValue, "'%s' must not be empty", param)
	}
	return text, nil
}

func decodeStop(raw json.RawMessage) ([]string, error) {
	var stops []string
	switch kind(raw) {
	case "a string":
		s, err := decodeString("stop", raw)
		if err != nil {
			return nil, err
		}
		stops = []string{s}
	case "an array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, typeErr("stop", "a string or an array of strings", raw)
		}
		if len(items) > MaxStop {
			return nil, reqErr("stop", CodeInvalidValue, "'stop' holds %d strings; at most %d are allowed", len(items), MaxStop)
		}
		for i, item := range items {
			s, err := decodeString(fmt.Sprintf("stop[%d]", i), item)
			if err != nil {
				return nil, err
			}
			stops = append(stops, s)
		}
	default:
		return nil, typeErr("stop", "a string or an array of strings", raw)
	}
	for i, s := range stops {
		if s == "" {
			param := "stop"
			if kind(raw) == "an array" {
				param = fmt.Sprintf("stop[%d]", i)
			}
			return nil, reqErr(param, CodeInvalidValue, "'%s' must not be an empty string", param)
		}
	}
	return stops, nil
}

// present returns a field's raw value, treating null like an absent field:
// SDKs send null for parameters they leave at the default.
func present(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	raw, ok := fields[name]
	if !ok || kind(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// kind names the JSON type of a raw value, as an error message says it.
func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func typeErr(param, want string, raw json.RawMessage) *RequestError {
	return reqErr(param, CodeInvalidType, "'%s' must be %s, not %s", param, want, kind(raw))
}

func decodeString(param string, raw json.RawMessage) (string, error) {
	var s string
	if kind(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return "", typeErr(param, "a string", raw)
	}
	return s, nil
}

func decodeBool(param string, raw json.RawMessage) (bool, error) {
	var b bool
	if kind(raw) != "a boolean" || json.Unmarshal(raw, &b) != nil {
		return false, typeErr(param, "a boolean", raw)
	}
	return b, nil
}

func decodeObject(param string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if kind(raw) != "an object" || json.Unmarshal(raw, &m) != nil {
		return nil, typeErr(param, "an object", raw)
	}
	return m, nil
}

func decodeNumber(param string, raw json.RawMessage) (string, error) {
	var n json.Number
	if kind(raw) != "a number" || json.Unmarshal(raw, &n) != nil {
		return "", typeErr(param, "a number", raw)
	}
	return n.String(), nil
}

// decodeInt accepts integers, including integral values written as floats
// (3.0, 1e2), which JavaScript clients can produce.
func decodeInt(param string, raw json.RawMessage) (int64, error) {
	if kind(raw) != "a number" {
		return 0, typeErr(param, "an integer", raw)
	}
	s, err := decodeNumber(param, raw)
	if err != nil {
		return 0, err
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange), f != math.Trunc(f):
		return 0, reqErr(param, CodeInvalidType, "'%s' must be an integer, not %s", param, quoteShort(s))
	case err != nil, f < math.MinInt64, f >= math.MaxInt64:
		return 0, reqErr(param, CodeInvalidValue, "'%s' is %s, out of the 64-bit integer range", param, quoteShort(s))
	}
	return int64(f), nil
}

func decodeFloat(param string, raw json.RawMessage) (float64, error) {
	s, err := decodeNumber(param, raw)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, reqErr(param, CodeInvalidValue, "'%s' is %s, out of range", param, quoteShort(s))
	}
	return f, nil
}

// quoteShort quotes a client's value for an error message, cut so that an
// error never echoes a large part of the body.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
