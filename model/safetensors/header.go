package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// metadataKey is the header key that holds the free-form string map rather
// than a tensor.
const metadataKey = "__metadata__"

// parseHeader parses the JSON header. It walks the tokens rather than
// unmarshalling into a map because a map would silently keep the last of two
// entries with the same name, and a hostile file could use that to show one
// reader one tensor and another reader another.
func parseHeader(h []byte) (map[string]string, []TensorInfo, error) {
	if !utf8.Valid(h) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	if len(h) == 0 || h[0] != '{' {
		return nil, nil, errors.New("header does not start with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	if err := expectDelim(dec, '{', "header"); err != nil {
		return nil, nil, err
	}
	var (
		meta    map[string]string
		infos   []TensorInfo
		seen    = make(map[string]bool)
		hasMeta bool
	)
	for dec.More() {
		key, err := objectKey(dec, "header")
		if err != nil {
			return nil, nil, err
		}
		if key == metadataKey {
			if hasMeta {
				return nil, nil, errors.New("header has __metadata__ twice")
			}
			hasMeta = true
			if meta, err = parseMetadata(dec); err != nil {
				return nil, nil, err
			}
			continue
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("tensor %q: appears twice in the header", key)
		}
		seen[key] = true
		info, err := parseTensorInfo(dec, key)
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, info)
	}
	if err := expectDelim(dec, '}', "header"); err != nil {
		return nil, nil, err
	}
	// The writer pads the header with spaces; anything else after the
	// object is an error.
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("header: invalid JSON: %w", err)
		}
		return nil, nil, fmt.Errorf("header has %s after its JSON object", describe(tok))
	}
	return meta, infos, nil
}

// parseMetadata parses the value of __metadata__: null or an object whose
// values are strings.
func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := token(dec, "__metadata__")
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("__metadata__ is %s, want an object of strings", describe(tok))
	}
	meta := make(map[string]string)
	for dec.More() {
		key, err := objectKey(dec, "__metadata__")
		if err != nil {
			return nil, err
		}
		if _, dup := meta[key]; dup {
			return nil, fmt.Errorf("__metadata__ has key %q twice", key)
		}
		tok, err := token(dec, "__metadata__")
		if err != nil {
			return nil, err
		}
		s, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("__metadata__ value for %q is %s, want a string", key, describe(tok))
		}
		meta[key] = s
	}
	return meta, expectDelim(dec, '}', "__metadata__")
}

// parseTensorInfo parses the header entry of the named tensor and checks it
// on its own; checkLayout checks it against the others.
func parseTensorInfo(dec *json.Decoder, name string) (TensorInfo, error) {
	what := fmt.Sprintf("tensor %q", name)
	tok, err := token(dec, what)
	if err != nil {
		return TensorInfo{}, err
	}
	if tok != json.Delim('{') {
		return TensorInfo{}, fmt.Errorf("%s: header entry is %s, want an object", what, describe(tok))
	}
	var (
		dtype            DType
		shape, offsets   []int64
		shapeS, offsetsS []string // as written, for messages
		seen             = make(map[string]bool)
	)
	for dec.More() {
		key, err := objectKey(dec, what)
		if err != nil {
			return TensorInfo{}, err
		}
		if seen[key] {
			return TensorInfo{}, fmt.Errorf("%s: header entry has %q twice", what, key)
		}
		seen[key] = true
		switch key {
		case "dtype":
			tok, err := token(dec, what)
			if err != nil {
				return TensorInfo{}, err
			}
			s, ok := tok.(string)
			if !ok {
				return TensorInfo{}, fmt.Errorf("%s: dtype is %s, want a string", what, describe(tok))
			}
			dtype = DType(s)
		case "shape":
			if shape, shapeS, err = intArray(dec, what, key); err != nil {
				return TensorInfo{}, err
			}
		case "data_offsets":
			if offsets, offsetsS, err = intArray(dec, what, key); err != nil {
				return TensorInfo{}, err
			}
		default:
			// The reference implementation ignores fields it does not know;
			// skipping one still checks that it is valid JSON.
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return TensorInfo{}, fmt.Errorf("%s: invalid JSON: %w", what, err)
			}
		}
	}
	if err := expectDelim(dec, '}', what); err != nil {
		return TensorInfo{}, err
	}
	for _, k := range []string{"dtype", "shape", "data_offsets"} {
		if !seen[k] {
			return TensorInfo{}, fmt.Errorf("%s: header entry has no %q", what, k)
		}
	}
	if dtype.Size() == 0 {
		return TensorInfo{}, fmt.Errorf("%s: unknown dtype %q", what, string(dtype))
	}
	shapeStr := "[" + strings.Join(shapeS, " ") + "]"
	for _, d := range shape {
		if d < 0 {
			return TensorInfo{}, fmt.Errorf("%s: shape %s has a negative dimension", what, shapeStr)
		}
	}
	if len(offsets) != 2 {
		return TensorInfo{}, fmt.Errorf("%s: data_offsets [%s] has %d numbers, want 2", what, strings.Join(offsetsS, ", "), len(offsets))
	}
	begin, end := offsets[0], offsets[1]
	if begin < 0 || end < 0 {
		return TensorInfo{}, fmt.Errorf("%s: data_offsets [%d, %d) are negative", what, begin, end)
	}
	if end < begin {
		return TensorInfo{}, fmt.Errorf("%s: data_offsets [%d, %d) end before they begin", what, begin, end)
	}
	_, size, ok := numBytes(dtype, shape)
	if !ok {
		return TensorInfo{}, fmt.Errorf("%s: shape %s of %s overflows: too many bytes", what, shapeStr, dtype)
	}
	if end-begin != size {
		return TensorInfo{}, fmt.Errorf("%s: data_offsets [%d, %d) hold %d bytes, want %d for %s %s", what, begin, end, end-begin, size, dtype, shapeStr)
	}
	dims := make([]int, len(shape))
	for i, d := range shape {
		dims[i] = int(d) // fits: numBytes checked the product against MaxInt
	}
	return TensorInfo{Name: name, DType: dtype, Shape: dims, Begin: begin, End: end}, nil
}

// intArray parses an array of integers that fit an int64, returning them and
// their spelling.
func intArray(dec *json.Decoder, what, field string) ([]int64, []string, error) {
	tok, err := token(dec, what)
	if err != nil {
		return nil, nil, err
	}
	if tok != json.Delim('[') {
		return nil, nil, fmt.Errorf("%s: %s is %s, want an array of integers", what, field, describe(tok))
	}
	var (
		vals  []int64
		spell []string
	)
	for dec.More() {
		tok, err := token(dec, what)
		if err != nil {
			return nil, nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, nil, fmt.Errorf("%s: %s holds %s, want an integer", what, field, describe(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s holds %s, want an integer within ±2^63", what, field, num)
		}
		vals = append(vals, v)
		spell = append(spell, string(num))
	}
	return vals, spell, expectDelim(dec, ']', what)
}

// objectKey reads the next key of an object.
func objectKey(dec *json.Decoder, what string) (string, error) {
	tok, err := token(dec, what)
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s: invalid JSON: object key is %s", what, describe(tok))
	}
	return key, nil
}

func expectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := token(dec, what)
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("%s: invalid JSON: found %s, want %q", what, describe(tok), string(want))
	}
	return nil
}

func token(dec *json.Decoder, what string) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: invalid JSON: unexpected end", what)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", what, err)
	}
	return tok, nil
}

// describe names the kind of a JSON token for error messages.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return strconv.Quote(v.String())
	}
	return fmt.Sprintf("%T", tok)
}
