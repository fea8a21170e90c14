package openai

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var testLimits = Limits{MaxMessages: 4, MaxTokens: 512}

func TestDecodeChatRequestValid(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	i := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		body string
		want ChatRequest
	}{
		{
			name: "minimal",
			body: `{"messages":[{"role":"user","content":"hi"}]}`,
			want: ChatRequest{Messages: []Message{{RoleUser, "hi"}}},
		},
		{
			name: "every parameter",
			body: `{"model":"m","messages":[{"role":"system","content":"be kind"},{"role":"user","content":"a"},
				{"role":"assistant","content":"b"},{"role":"user","content":"c"}],
				"max_tokens":7,"temperature":0.5,"top_p":1,"stop":["x","y"],"seed":-3,"n":1,
				"stream":true,"stream_options":{"include_usage":true},"user":"u1"}`,
			want: ChatRequest{
				Model: "m",
				Messages: []Message{
					{RoleSystem, "be kind"}, {RoleUser, "a"}, {RoleAssistant, "b"}, {RoleUser, "c"},
				},
				MaxTokens: 7, Temperature: f(0.5), TopP: f(1), Stop: []string{"x", "y"}, Seed: i(-3),
				Stream: true, IncludeUsage: true, User: "u1",
			},
		},
		{
			name: "nulls are absent, unknown fields ignored",
			body: `{"model":null,"messages":[{"role":"developer","content":"d","name":"x"},{"role":"user","content":"q"}],
				"max_tokens":null,"temperature":null,"stop":null,"logprobs":false,"tools":[],"frequency_penalty":0}`,
			want: ChatRequest{Messages: []Message{{RoleDeveloper, "d"}, {RoleUser, "q"}}},
		},
		{
			name: "text parts are joined",
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":" "},{"type":"text","text":"two"}]}]}`,
			want: ChatRequest{Messages: []Message{{RoleUser, "one\ntwo"}}},
		},
		{
			name: "max_completion_tokens wins",
			body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":9,"max_completion_tokens":3}`,
			want: ChatRequest{Messages: []Message{{RoleUser, "hi"}}, MaxTokens: 3},
		},
		{
			name: "integral float and string stop",
			body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2.0,"seed":1e3,"stop":"END","temperature":0}`,
			want: ChatRequest{Messages: []Message{{RoleUser, "hi"}}, MaxTokens: 2, Seed: i(1000), Stop: []string{"END"}, Temperature: f(0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeChatRequest([]byte(tt.body), testLimits)
			if err != nil {
				t.Fatalf("DecodeChatRequest: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestDecodeChatRequestInvalid(t *testing.T) {
	user := `[{"role":"user","content":"hi"}]`
	tests := []struct {
		name      string
		body      string
		code      string
		param     string
		wantInMsg string
	}{
		{"empty body", ``, CodeInvalidJSON, "", "not valid JSON"},
		{"malformed", `{"messages":`, CodeInvalidJSON, "", "not valid JSON"},
		{"trailing garbage", `{"messages":` + user + `} x`, CodeInvalidJSON, "", "not valid JSON"},
		{"array body", `[1]`, CodeInvalidJSON, "", "JSON object"},
		{"null body", `null`, CodeInvalidJSON, "", "JSON object"},
		{"invalid utf8", "{\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}", CodeInvalidUTF8, "", "UTF-8"},
		{"missing messages", `{}`, CodeMissing, "messages", "required"},
		{"messages not array", `{"messages":"hi"}`, CodeInvalidType, "messages", "must be an array of messages, not a string"},
		{"empty messages", `{"messages":[]}`, CodeInvalidValue, "messages", "at least one"},
		{"too many messages", `{"messages":[` + strings.Repeat(`{"role":"user","content":"a"},`, 4) + `{"role":"user","content":"a"}]}`, CodeTooManyMessages, "messages", "at most 4"},
		{"message not object", `{"messages":[1]}`, CodeInvalidType, "messages[0]", "must be an object, not a number"},
		{"missing role", `{"messages":[{"content":"a"}]}`, CodeMissing, "messages[0].role", "required"},
		{"role not string", `{"messages":[{"role":1,"content":"a"}]}`, CodeInvalidType, "messages[0].role", "must be a string"},
		{"unknown role", `{"messages":[{"role":"robot","content":"a"}]}`, CodeInvalidValue, "messages[0].role", `"robot"`},
		{"tool role", `{"messages":[{"role":"tool","content":"a"}]}`, CodeUnsupported, "messages[0].role", "tools"},
		{"missing content", `{"messages":[{"role":"user"}]}`, CodeMissing, "messages[0].content", "required"},
		{"null content", `{"messages":[{"role":"user","content":null}]}`, CodeMissing, "messages[0].content", "required"},
		{"empty content", `{"messages":[{"role":"user","content":""}]}`, CodeInvalidValue, "messages[0].content", "must not be empty"},
		{"blank content", `{"messages":[{"role":"user","content":" \n\t"}]}`, CodeInvalidValue, "messages[0].content", "must not be empty"},
		{"content number", `{"messages":[{"role":"user","content":5}]}`, CodeInvalidType, "messages[0].content", "not a number"},
		{"empty parts", `{"messages":[{"role":"user","content":[]}]}`, CodeInvalidValue, "messages[0].content", "must not be empty"},
		{"image part", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, CodeUnsupported, "messages[0].content[0].type", "image_url"},
		{"part text not string", `{"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, CodeInvalidType, "messages[0].content[0].text", "must be a string"},
		{"last not user", `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`, CodeInvalidValue, "messages[1].role", "last message must be from the user"},
		{"model number", `{"model":1,"messages":` + user + `}`, CodeInvalidType, "model", "must be a string"},
		{"max_tokens string", `{"messages":` + user + `,"max_tokens":"5"}`, CodeInvalidType, "max_tokens", "must be an integer, not a string"},
		{"max_tokens fraction", `{"messages":` + user + `,"max_tokens":1.5}`, CodeInvalidType, "max_tokens", "must be an integer"},
		{"max_tokens zero", `{"messages":` + user + `,"max_tokens":0}`, CodeInvalidValue, "max_tokens", "at least 1"},
		{"max_tokens negative", `{"messages":` + user + `,"max_tokens":-1}`, CodeInvalidValue, "max_tokens", "at least 1"},
		{"max_tokens above cap", `{"messages":` + user + `,"max_tokens":513}`, CodeInvalidValue, "max_tokens", "at most 512"},
		{"max_tokens huge", `{"messages":` + user + `,"max_tokens":1e300}`, CodeInvalidValue, "max_tokens", "64-bit"},
		{"max_completion_tokens above cap", `{"messages":` + user + `,"max_completion_tokens":100000}`, CodeInvalidValue, "max_completion_tokens", "at most 512"},
		{"temperature string", `{"messages":` + user + `,"temperature":"hot"}`, CodeInvalidType, "temperature", "must be a number, not a string"},
		{"temperature 3", `{"messages":` + user + `,"temperature":3}`, CodeInvalidValue, "temperature", "between 0 and 2"},
		{"temperature negative", `{"messages":` + user + `,"temperature":-0.1}`, CodeInvalidValue, "temperature", "between 0 and 2"},
		{"temperature overflow", `{"messages":` + user + `,"temperature":1e999}`, CodeInvalidValue, "temperature", "out of range"},
		{"top_p 0", `{"messages":` + user + `,"top_p":0}`, CodeInvalidValue, "top_p", "greater than 0"},
		{"top_p 1.5", `{"messages":` + user + `,"top_p":1.5}`, CodeInvalidValue, "top_p", "at most 1"},
		{"top_p bool", `{"messages":` + user + `,"top_p":true}`, CodeInvalidType, "top_p", "not a boolean"},
		{"stop 5 entries", `{"messages":` + user + `,"stop":["a","b","c","d","e"]}`, CodeInvalidValue, "stop", "at most 4"},
		{"stop number", `{"messages":` + user + `,"stop":5}`, CodeInvalidType, "stop", "string or an array of strings"},
		{"stop entry number", `{"messages":` + user + `,"stop":["a",5]}`, CodeInvalidType, "stop[1]", "must be a string"},
		{"stop empty string", `{"messages":` + user + `,"stop":""}`, CodeInvalidValue, "stop", "empty"},
		{"stop empty entry", `{"messages":` + user + `,"stop":["a",""]}`, CodeInvalidValue, "stop[1]", "empty"},
		{"seed fraction", `{"messages":` + user + `,"seed":0.5}`, CodeInvalidType, "seed", "integer"},
		{"seed object", `{"messages":` + user + `,"seed":{}}`, CodeInvalidType, "seed", "not an object"},
		{"n 2", `{"messages":` + user + `,"n":2}`, CodeUnsupported, "n", "n must be 1"},
		{"n 0", `{"messages":` + user + `,"n":0}`, CodeInvalidValue, "n", "must be 1"},
		{"stream string", `{"messages":` + user + `,"stream":"yes"}`, CodeInvalidType, "stream", "must be a boolean"},
		{"stream_options array", `{"messages":` + user + `,"stream_options":[]}`, CodeInvalidType, "stream_options", "must be an object"},
		{"include_usage number", `{"messages":` + user + `,"stream_options":{"include_usage":1}}`, CodeInvalidType, "stream_options.include_usage", "must be a boolean"},
		{"user number", `{"messages":` + user + `,"user":7}`, CodeInvalidType, "user", "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeChatRequest([]byte(tt.body), testLimits)
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeChatRequest = %+v, %v; want a *RequestError", got, err)
			}
			if re.Code != tt.code || re.Param != tt.param {
				t.Errorf("code, param = %q, %q; want %q, %q (message %q)", re.Code, re.Param, tt.code, tt.param, re.Message)
			}
			if !strings.Contains(re.Message, tt.wantInMsg) {
				t.Errorf("message %q does not contain %q", re.Message, tt.wantInMsg)
			}
			if b := re.Body(); b.Type != TypeInvalidRequest || b.Code != tt.code {
				t.Errorf("Body() = %+v", b)
			}
		})
	}
}

func TestDecodeChatRequestQuotesShortly(t *testing.T) {
	role := strings.Repeat("x", 10000)
	_, err := DecodeChatRequest([]byte(`{"messages":[{"role":"`+role+`","content":"a"}]}`), testLimits)
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error %q: want a short error", err)
	}
}

// checkInvariants reports how a request DecodeChatRequest accepted breaks
// the promises of ChatRequest's documentation.
func checkInvariants(r *ChatRequest, lim Limits) string {
	switch {
	case len(r.Messages) == 0:
		return "no messages"
	case lim.MaxMessages > 0 && len(r.Messages) > lim.MaxMessages:
		return "too many messages"
	case r.Messages[len(r.Messages)-1].Role != RoleUser:
		return "last message not from the user"
	case r.MaxTokens < 0 || lim.MaxTokens > 0 && r.MaxTokens > lim.MaxTokens:
		return "max tokens out of range"
	case r.Temperature != nil && !(*r.Temperature >= 0 && *r.Temperature <= 2):
		return "temperature out of range"
	case r.TopP != nil && !(*r.TopP > 0 && *r.TopP <= 1):
		return "top_p out of range"
	case len(r.Stop) > MaxStop:
		return "too many stops"
	case !utf8.ValidString(r.Model) || !utf8.ValidString(r.User):
		return "invalid UTF-8"
	}
	for _, m := range r.Messages {
		switch m.Role {
		case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant:
		default:
			return "unknown role " + m.Role
		}
		if strings.TrimSpace(m.Content) == "" || !utf8.ValidString(m.Content) {
			return "empty or invalid content"
		}
	}
	for _, s := range r.Stop {
		if s == "" || !utf8.ValidString(s) {
			return "empty or invalid stop"
		}
	}
	if r.Temperature != nil && (math.IsNaN(*r.Temperature)) {
		return "NaN temperature"
	}
	return ""
}

func FuzzDecodeChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"}]}],"max_tokens":5,"temperature":0.7,"top_p":0.9,"stop":["\n"],"seed":1,"n":1,"stream":true,"stream_options":{"include_usage":true},"user":"u"}`,
		`{"messages":[{"role":"assistant","content":"x"}]}`,
		`{"messages":[],"max_tokens":1e400}`,
		`{"messages":[{"role":"user","content":"\ud800"}],"stop":"x"}`,
		`[]`, `null`, `{"messages":null}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeChatRequest(data, testLimits)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %T %v is not a *RequestError", err, err)
			}
			if r != nil || re.Message == "" || re.Code == "" || !utf8.ValidString(re.Message) {
				t.Fatalf("bad refusal: %+v, %+v", r, re)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatal("accepted a body that is not UTF-8")
		}
		if why := checkInvariants(r, testLimits); why != "" {
			t.Fatalf("accepted %q: %s", data, why)
		}
	})
}

func BenchmarkDecodeChatRequest(b *testing.B) {
	body := []byte(`{"model":"support","messages":[{"role":"system","content":"You are a helpful support agent."},
		{"role":"user","content":"My parcel has not arrived and the tracking page shows nothing since Monday."},
		{"role":"assistant","content":"Sorry to hear that. Could you give me the order number?"},
		{"role":"user","content":"It is 48213, ordered last week."}],"max_tokens":128,"temperature":0.7,"stream":true}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeChatRequest(body, Limits{MaxMessages: 64, MaxTokens: 512}); err != nil {
			b.Fatal(err)
		}
	}
}
