package tracking

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file implements MLflow's search grammar for runs and model versions
// the way MLflow's FileStore evaluates it in Python (SearchUtils and
// SearchModelVersionUtils in mlflow/utils/search_utils.py), so that a
// filter means the same thing against FileStore as against a server.
//
// The grammar, as MLflow accepts it:
//
//	filter     = [ clause { AND clause } ]
//	clause     = identifier comparator value
//	identifier = [ entity "." ] key
//	value      = 'string' | "string" | number | ( 'string' { , 'string' } )
//
// Keywords and comparators are case-insensitive; entity types and keys are
// not. Quoted strings are taken verbatim between their quotes, as MLflow
// does: an escaped quote inside ('it''s') stays escaped in the value.

// mlflowDatasetContextTag is the input tag that holds a dataset's role
// (training, validation, ...) in a run; datasets.context matches it.
const mlflowDatasetContextTag = "mlflow.data.context"

// stageDeletedInternal is the stage MLflow's registry FileStore gives a
// deleted model version, which it keeps on disk but never returns.
const stageDeletedInternal = "Deleted_Internal"

// searchEntity is the kind of thing an identifier names.
type searchEntity int

const (
	entMetric searchEntity = iota + 1
	entParam
	entTag
	entAttribute
	entDataset
)

func (e searchEntity) String() string {
	switch e {
	case entMetric:
		return "metric"
	case entParam:
		return "param"
	case entTag:
		return "tag"
	case entAttribute:
		return "attribute"
	case entDataset:
		return "dataset"
	}
	return "unknown"
}

// runSearchEntity resolves an identifier's prefix for run searches, with every
// alias MLflow accepts; no prefix means an attribute.
func runSearchEntity(id searchIdent) (searchEntity, error) {
	if !id.hasEntity {
		return entAttribute, nil
	}
	switch id.prefix {
	case "metric", "metrics":
		return entMetric, nil
	case "param", "params", "parameter", "parameters":
		return entParam, nil
	case "tag", "tags":
		return entTag, nil
	case "attribute", "attributes", "attr", "run":
		return entAttribute, nil
	case "dataset", "datasets":
		return entDataset, nil
	}
	return 0, fmt.Errorf("unknown entity type %q in %s; use the metrics, params, tags, attributes or datasets prefix", id.prefix, id.raw)
}

// modelVersionSearchEntity resolves an identifier's prefix for model version
// searches, as SearchModelVersionUtils does; no prefix means an
// attribute.
func modelVersionSearchEntity(id searchIdent) (searchEntity, error) {
	if !id.hasEntity {
		return entAttribute, nil
	}
	switch id.prefix {
	case "attribute":
		return entAttribute, nil
	case "tag", "tags":
		return entTag, nil
	}
	return 0, fmt.Errorf("unknown entity type %q in %s; use the attribute or tags prefix", id.prefix, id.raw)
}

// runSearchAttribute returns the canonical name of a run attribute spelled key,
// resolving MLflow's aliases; the "run name" spellings are searchable but,
// as in MLflow, not orderable.
func runSearchAttribute(key string, order bool) (string, bool) {
	switch key {
	case "run_id", "run_name", "user_id", "status", "artifact_uri", "start_time", "end_time":
		return key, true
	case "created", "Created":
		return "start_time", true
	case "run name", "Run name", "Run Name":
		return "run_name", !order
	}
	return "", false
}

// isRunNumericAttribute reports whether the canonical run attribute key holds a
// time and so compares as an integer.
func isRunNumericAttribute(key string) bool { return key == "start_time" || key == "end_time" }

// searchOpSet is a set of comparators.
type searchOpSet uint16

const (
	opEq searchOpSet = 1 << iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opLike
	opILike
	opIn
	opNotIn
)

// Comparator sets, as MLflow defines them per kind of left-hand side.
const (
	numericOps    = opEq | opNe | opLt | opLe | opGt | opGe
	stringOps     = opEq | opNe | opLike | opILike
	stringListOps = stringOps | opIn | opNotIn
	// SearchModelVersionUtils has no NOT IN.
	mvAttributeOps = stringOps | opIn
)

// searchOpNames lists comparators in the order error messages name them.
func searchOpNames() []string {
	return []string{"=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"}
}

// searchOpBit returns the set holding only op, or 0 for an unknown op.
func searchOpBit(op string) searchOpSet {
	for i, name := range searchOpNames() {
		if name == op {
			return 1 << i
		}
	}
	return 0
}

func (set searchOpSet) has(op string) bool { return set&searchOpBit(op) != 0 }

func (set searchOpSet) String() string {
	var out []string
	for i, name := range searchOpNames() {
		if set&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return strings.Join(out, ", ")
}

// searchValueKind is the syntactic kind of a clause's right-hand side.
type searchValueKind int

const (
	valString searchValueKind = iota + 1
	valNumber
	valList
)

// searchValue is a clause's right-hand side as written.
type searchValue struct {
	kind searchValueKind
	text string   // string content between the quotes, or the number as written
	list []string // valList items
}

// describe spells v for an error message.
func (v searchValue) describe() string {
	switch v.kind {
	case valString:
		return fmt.Sprintf("string %q", v.text)
	case valNumber:
		return "number " + v.text
	}
	return "a list"
}

// searchIdent is an identifier as written: an optional entity prefix and a key.
type searchIdent struct {
	raw       string // the identifier as written, for messages
	prefix    string // prefix before the first dot, "" when there is none
	hasEntity bool
	key       string // with quotes removed
}

// searchScanner reads one filter or order_by clause.
type searchScanner struct {
	src string
	pos int
}

func (s *searchScanner) skipSpace() {
	for s.pos < len(s.src) {
		r, n := utf8.DecodeRuneInString(s.src[s.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		s.pos += n
	}
}

func (s *searchScanner) eof() bool { return s.pos >= len(s.src) }

// rest returns the unread input, shortened for an error message.
func (s *searchScanner) rest() string {
	const limit = 40
	r := s.src[s.pos:]
	if len(r) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(r[cut]) {
			cut--
		}
		r = r[:cut] + "..."
	}
	return r
}

func isSearchWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// word reads a run of letters, digits and underscores.
func (s *searchScanner) word() string {
	start := s.pos
	for s.pos < len(s.src) {
		r, n := utf8.DecodeRuneInString(s.src[s.pos:])
		if !isSearchWordRune(r) {
			break
		}
		s.pos += n
	}
	return s.src[start:s.pos]
}

// quoted reads a string quoted with q starting at the current position
// and returns its content verbatim. escapes says whether a doubled quote
// or a backslash escape continues the string, as in SQL string literals.
func (s *searchScanner) quoted(q byte, escapes bool) (string, error) {
	start := s.pos
	i := s.pos + 1
	for i < len(s.src) {
		c := s.src[i]
		switch {
		case c == q && escapes && i+1 < len(s.src) && s.src[i+1] == q:
			i += 2
		case c == q:
			s.pos = i + 1
			return s.src[start+1 : i], nil
		case c == '\\' && escapes && i+1 < len(s.src) && (s.src[i+1] == q || s.src[i+1] == '\\'):
			i += 2
		default:
			i++
		}
	}
	tail := s.src[start:]
	if len(tail) > 40 {
		s.pos = start
		tail = s.rest()
	}
	return "", fmt.Errorf("unterminated quote %c in %q", q, tail)
}

// identifier reads `entity.key`, where the entity may be backquoted and
// the key may be a dotted name or a name quoted with backquotes or double
// quotes.
func (s *searchScanner) identifier() (searchIdent, error) {
	start := s.pos
	var id searchIdent
	first, quotedFirst, err := s.identPart()
	if err != nil {
		return searchIdent{}, err
	}
	if s.pos < len(s.src) && s.src[s.pos] == '.' {
		if quotedFirst == '"' {
			return searchIdent{}, fmt.Errorf("invalid identifier %q: quote the key, not the entity type", s.src[start:s.pos])
		}
		s.pos++
		id.prefix, id.hasEntity = first, true
		if s.pos < len(s.src) && (s.src[s.pos] == '`' || s.src[s.pos] == '"') {
			id.key, err = s.quoted(s.src[s.pos], false)
			if err != nil {
				return searchIdent{}, err
			}
		} else {
			keyStart := s.pos
			for s.pos < len(s.src) {
				r, n := utf8.DecodeRuneInString(s.src[s.pos:])
				if !isSearchWordRune(r) && r != '.' {
					break
				}
				s.pos += n
			}
			id.key = s.src[keyStart:s.pos]
			if id.key == "" || strings.HasSuffix(id.key, ".") || strings.Contains(id.key, "..") {
				return searchIdent{}, fmt.Errorf("invalid identifier %q: malformed key; quote keys with special characters in backquotes", s.src[start:s.pos])
			}
		}
	} else {
		id.key = first
	}
	id.raw = printable(s.src[start:s.pos])
	if s.pos < len(s.src) {
		r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
		if isSearchWordRune(r) || r == '.' || r == '`' || r == '"' {
			return searchIdent{}, fmt.Errorf("invalid identifier %q: unexpected %q after it; quote keys with special characters in backquotes", id.raw, r)
		}
	}
	if id.key == "" {
		return searchIdent{}, fmt.Errorf("invalid identifier %q: empty key", id.raw)
	}
	return id, nil
}

// printable returns s for an error message: as is when every character
// prints, quoted otherwise, so that messages stay on one line.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// identPart reads a bare word starting with a letter or underscore, or a
// name in backquotes or double quotes; quote is the quote used, or 0.
func (s *searchScanner) identPart() (part string, quote byte, err error) {
	if s.eof() {
		return "", 0, fmt.Errorf("expected an identifier, found end of input")
	}
	if c := s.src[s.pos]; c == '`' || c == '"' {
		part, err = s.quoted(c, false)
		return part, c, err
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	if r != '_' && !unicode.IsLetter(r) {
		return "", 0, fmt.Errorf("expected an identifier, found %q", s.rest())
	}
	return s.word(), 0, nil
}

// comparator reads one of = != < <= > >= LIKE ILIKE IN NOT IN and returns
// it upper-cased.
func (s *searchScanner) comparator(after string) (string, error) {
	s.skipSpace()
	if s.eof() {
		return "", fmt.Errorf("missing comparator after %s", after)
	}
	start := s.pos
	if strings.IndexByte("<>=!", s.src[s.pos]) >= 0 {
		for s.pos < len(s.src) && strings.IndexByte("<>=!", s.src[s.pos]) >= 0 {
			s.pos++
		}
		op := s.src[start:s.pos]
		if !numericOps.has(op) {
			return "", fmt.Errorf("unknown comparator %q", op)
		}
		return op, nil
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	if !unicode.IsLetter(r) {
		return "", fmt.Errorf("expected a comparator after %s, found %q", after, s.rest())
	}
	w := strings.ToUpper(s.word())
	switch w {
	case "LIKE", "ILIKE", "IN":
		return w, nil
	case "NOT":
		s.skipSpace()
		w2 := s.word()
		if strings.ToUpper(w2) == "IN" {
			return "NOT IN", nil
		}
		return "", fmt.Errorf("unknown comparator %q", s.src[start:s.pos])
	}
	return "", fmt.Errorf("unknown comparator %q", s.src[start:s.pos])
}

// operand reads a quoted string, a number or a parenthesised list of
// single-quoted strings.
func (s *searchScanner) operand(after string) (searchValue, error) {
	s.skipSpace()
	if s.eof() {
		return searchValue{}, fmt.Errorf("missing value after %s", after)
	}
	c := s.src[s.pos]
	switch {
	case c == '\'' || c == '"':
		text, err := s.quoted(c, true)
		if err != nil {
			return searchValue{}, err
		}
		return searchValue{kind: valString, text: text}, nil
	case c == '(':
		list, err := s.list()
		if err != nil {
			return searchValue{}, err
		}
		return searchValue{kind: valList, list: list}, nil
	case c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return s.number()
	case c == '`':
		return searchValue{}, fmt.Errorf("value %q after %s is in backquotes; quote string values with ' or \"", s.rest(), after)
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	if isSearchWordRune(r) {
		w := s.word()
		return searchValue{}, fmt.Errorf("value %s after %s is not quoted; quote string values with ' or \"", w, after)
	}
	return searchValue{}, fmt.Errorf("expected a value after %s, found %q", after, s.rest())
}

// number reads -?(digits[.digits*]|.digits)([eE][+-]?digits)?.
func (s *searchScanner) number() (searchValue, error) {
	start := s.pos
	digits := func() int {
		n := 0
		for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.src[s.pos] == '-' {
		s.pos++
	}
	intDigits := digits()
	fracDigits := 0
	if s.pos < len(s.src) && s.src[s.pos] == '.' {
		s.pos++
		fracDigits = digits()
	}
	ok := intDigits > 0 || fracDigits > 0
	if ok && s.pos < len(s.src) && (s.src[s.pos] == 'e' || s.src[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.src) && (s.src[s.pos] == '+' || s.src[s.pos] == '-') {
			s.pos++
		}
		ok = digits() > 0
	}
	if ok && s.pos < len(s.src) {
		r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
		ok = !isSearchWordRune(r) && r != '.'
	}
	if !ok {
		end := s.pos
		for end < len(s.src) {
			r, n := utf8.DecodeRuneInString(s.src[end:])
			if !isSearchWordRune(r) && r != '.' && r != '-' && r != '+' {
				break
			}
			end += n
		}
		return searchValue{}, fmt.Errorf("malformed number %q", s.src[start:end])
	}
	return searchValue{kind: valNumber, text: s.src[start:s.pos]}, nil
}

// list reads ('a', 'b', ...): a non-empty list of single-quoted strings.
func (s *searchScanner) list() ([]string, error) {
	start := s.pos
	s.pos++ // (
	var items []string
	for {
		s.skipSpace()
		if s.eof() {
			return nil, fmt.Errorf("unterminated list %q", s.src[start:])
		}
		if s.src[s.pos] == ')' && len(items) == 0 {
			return nil, fmt.Errorf("empty list; IN needs at least one quoted string")
		}
		if s.src[s.pos] != '\'' {
			return nil, fmt.Errorf("list items must be single-quoted strings, found %q", s.rest())
		}
		item, err := s.quoted('\'', true)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		s.skipSpace()
		if s.eof() {
			return nil, fmt.Errorf("unterminated list %q", s.src[start:])
		}
		switch s.src[s.pos] {
		case ',':
			s.pos++
		case ')':
			s.pos++
			return items, nil
		default:
			return nil, fmt.Errorf("expected ',' or ')' in list, found %q", s.rest())
		}
	}
}

// searchClause is a clause as written, before its meaning is checked.
type searchClause struct {
	id  searchIdent
	op  string
	val searchValue
}

// parseSearchClauses reads clause { AND clause } up to the end of input.
func parseSearchClauses(src string) ([]searchClause, error) {
	s := &searchScanner{src: src}
	var out []searchClause
	s.skipSpace()
	if s.eof() {
		return nil, nil
	}
	for {
		s.skipSpace()
		if s.eof() {
			return nil, fmt.Errorf("missing clause after AND")
		}
		id, err := s.identifier()
		if err != nil {
			return nil, err
		}
		op, err := s.comparator(id.raw)
		if err != nil {
			return nil, err
		}
		val, err := s.operand(id.raw + " " + op)
		if err != nil {
			return nil, err
		}
		out = append(out, searchClause{id: id, op: op, val: val})
		s.skipSpace()
		if s.eof() {
			return out, nil
		}
		before := s.pos
		w := s.word()
		switch strings.ToUpper(w) {
		case "AND":
			if s.eof() {
				return nil, fmt.Errorf("missing clause after AND")
			}
			if r, _ := utf8.DecodeRuneInString(s.src[s.pos:]); !unicode.IsSpace(r) {
				s.pos = before
				return nil, fmt.Errorf("unexpected %q after clause", s.rest())
			}
		case "OR":
			return nil, fmt.Errorf("OR is not supported; MLflow filters join clauses with AND only")
		default:
			s.pos = before
			return nil, fmt.Errorf("unexpected %q after clause %s %s ...; join clauses with AND", s.rest(), id.raw, op)
		}
	}
}

// parseSearchOrderClause reads identifier [ASC|DESC].
func parseSearchOrderClause(src string) (id searchIdent, asc bool, err error) {
	s := &searchScanner{src: src}
	s.skipSpace()
	if s.eof() {
		return searchIdent{}, false, fmt.Errorf("empty clause")
	}
	id, err = s.identifier()
	if err != nil {
		return searchIdent{}, false, err
	}
	asc = true
	s.skipSpace()
	if !s.eof() {
		before := s.pos
		switch strings.ToUpper(s.word()) {
		case "ASC":
		case "DESC":
			asc = false
		default:
			s.pos = before
			return searchIdent{}, false, fmt.Errorf("expected ASC or DESC after %s, found %q", id.raw, s.rest())
		}
		s.skipSpace()
		if !s.eof() {
			return searchIdent{}, false, fmt.Errorf("unexpected %q at end", s.rest())
		}
	}
	return id, asc, nil
}

// checkSearchComparator reports op not being one of allowed for what.
func checkSearchComparator(op string, allowed searchOpSet, what string) error {
	if !allowed.has(op) {
		return fmt.Errorf("comparator %s is not allowed for %s; use one of %s", op, what, allowed)
	}
	return nil
}

// checkStringOperand checks that a clause with a string comparator has the
// value it needs: a list for IN and NOT IN, a quoted string otherwise.
// listOK says whether the left-hand side may be compared with a list.
func checkStringOperand(c searchClause, what string, listOK bool) error {
	switch {
	case c.op == "IN" || c.op == "NOT IN":
		if c.val.kind != valList {
			return fmt.Errorf("%s %s needs a parenthesised list of quoted strings, got %s", what, c.op, c.val.describe())
		}
		if !listOK {
			return fmt.Errorf("%s cannot be compared with a list", what)
		}
	case c.val.kind == valList:
		if !listOK {
			return fmt.Errorf("%s cannot be compared with a list", what)
		}
		return fmt.Errorf("%s %s cannot take a list; use IN", what, c.op)
	case c.val.kind != valString:
		return fmt.Errorf("%s needs a quoted string value, got %s", what, c.val.describe())
	}
	return nil
}

// parseSearchInteger reads an integral number for a numeric attribute.
func parseSearchInteger(text, what string) (int64, error) {
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s needs an integer, got %s", what, text)
	}
	return n, nil
}

// parseSearchFloat reads a metric bound; out-of-range magnitudes become
// infinities, as Python's float() makes them.
func parseSearchFloat(text string) (float64, error) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, fmt.Errorf("malformed number %q", text)
	}
	return f, nil
}

// searchPredicate is one checked clause: what it reads and how it compares.
type searchPredicate struct {
	entity  searchEntity
	key     string // canonical: aliases resolved
	op      string
	str     string   // string operand
	list    []string // IN / NOT IN operand
	num     float64  // metric operand
	integer int64    // numeric attribute operand
}

// matchString applies a string comparator to a present left-hand side.
func (p *searchPredicate) matchString(lhs string) bool {
	switch p.op {
	case "=":
		return lhs == p.str
	case "!=":
		return lhs != p.str
	case "LIKE":
		return sqlLike(lhs, p.str, false)
	case "ILIKE":
		return sqlLike(lhs, p.str, true)
	case "IN":
		return slices.Contains(p.list, lhs)
	case "NOT IN":
		return !slices.Contains(p.list, lhs)
	}
	return false
}

func (p *searchPredicate) matchFloat(lhs float64) bool {
	switch p.op {
	case "=":
		return lhs == p.num
	case "!=":
		return lhs != p.num
	case "<":
		return lhs < p.num
	case "<=":
		return lhs <= p.num
	case ">":
		return lhs > p.num
	case ">=":
		return lhs >= p.num
	}
	return false
}

func (p *searchPredicate) matchInt(lhs int64) bool {
	switch p.op {
	case "=":
		return lhs == p.integer
	case "!=":
		return lhs != p.integer
	case "<":
		return lhs < p.integer
	case "<=":
		return lhs <= p.integer
	case ">":
		return lhs > p.integer
	case ">=":
		return lhs >= p.integer
	}
	return false
}

// sqlLike reports whether s matches an SQL LIKE pattern: % is any sequence,
// _ any one character, everything else itself. MLflow's FileStore turns
// the pattern into a regular expression without escaping it, so there "."
// also matches any character; here only % and _ are special, as in the
// SQL stores. fold makes it case-insensitive (ILIKE).
func sqlLike(s, pattern string, fold bool) bool {
	str, pat := []rune(s), []rune(pattern)
	if fold {
		for i, r := range str {
			str[i] = unicode.ToLower(r)
		}
		for i, r := range pat {
			pat[i] = unicode.ToLower(r)
		}
	}
	// Greedy match with backtracking to the last %: O(len(s)*len(pattern)).
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case pi < len(pat) && pat[pi] == '%':
			star, mark = pi, si
			pi++
		case pi < len(pat) && (pat[pi] == '_' || pat[pi] == str[si]):
			si++
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '%' {
		pi++
	}
	return pi == len(pat)
}

// RunFilter is a parsed MLflow run search filter. The zero value and nil
// match every run.
type RunFilter struct {
	preds []searchPredicate
}

// ParseRunFilter parses an MLflow run search filter such as
// "metrics.loss < 0.5 and params.lr = '0.01'"; "" matches every run.
// Errors are *Error with CodeInvalidParameterValue.
func ParseRunFilter(filter string) (*RunFilter, error) {
	clauses, err := parseSearchClauses(filter)
	if err != nil {
		return nil, Errorf(CodeInvalidParameterValue, "invalid filter %q: %v", filter, err)
	}
	f := &RunFilter{}
	for _, c := range clauses {
		p, err := runPredicate(c)
		if err != nil {
			return nil, Errorf(CodeInvalidParameterValue, "invalid filter %q: %v", filter, err)
		}
		f.preds = append(f.preds, p)
	}
	return f, nil
}

func runPredicate(c searchClause) (searchPredicate, error) {
	e, err := runSearchEntity(c.id)
	if err != nil {
		return searchPredicate{}, err
	}
	p := searchPredicate{entity: e, key: c.id.key, op: c.op}
	what := c.id.raw
	switch e {
	case entMetric:
		if err := checkSearchComparator(c.op, numericOps, "metrics"); err != nil {
			return searchPredicate{}, err
		}
		if c.val.kind != valNumber {
			return searchPredicate{}, fmt.Errorf("metric %s needs a number, got %s", what, c.val.describe())
		}
		if p.num, err = parseSearchFloat(c.val.text); err != nil {
			return searchPredicate{}, err
		}
	case entParam, entTag:
		if err := checkSearchComparator(c.op, stringOps, e.String()+"s"); err != nil {
			return searchPredicate{}, err
		}
		if err := checkStringOperand(c, what, false); err != nil {
			return searchPredicate{}, err
		}
		p.str = c.val.text
	case entAttribute:
		key, ok := runSearchAttribute(c.id.key, false)
		if !ok {
			return searchPredicate{}, fmt.Errorf("unknown attribute %q; searchable attributes are run_id, run_name, user_id, status, artifact_uri, start_time (alias created), end_time", c.id.key)
		}
		p.key = key
		if isRunNumericAttribute(key) {
			if err := checkSearchComparator(c.op, numericOps, key); err != nil {
				return searchPredicate{}, err
			}
			if c.val.kind != valNumber {
				return searchPredicate{}, fmt.Errorf("attribute %s needs a number, got %s", what, c.val.describe())
			}
			if p.integer, err = parseSearchInteger(c.val.text, "attribute "+what); err != nil {
				return searchPredicate{}, err
			}
			break
		}
		if err := checkSearchComparator(c.op, stringListOps, key); err != nil {
			return searchPredicate{}, err
		}
		if err := checkStringOperand(c, "attribute "+what, key == "run_id"); err != nil {
			return searchPredicate{}, err
		}
		p.str, p.list = c.val.text, c.val.list
	case entDataset:
		if k := c.id.key; k != "name" && k != "digest" && k != "context" {
			return searchPredicate{}, fmt.Errorf("unknown dataset key %q; use datasets.name, datasets.digest or datasets.context", c.id.key)
		}
		if err := checkSearchComparator(c.op, stringListOps, "datasets"); err != nil {
			return searchPredicate{}, err
		}
		if err := checkStringOperand(c, what, true); err != nil {
			return searchPredicate{}, err
		}
		p.str, p.list = c.val.text, c.val.list
	}
	return p, nil
}

// Match reports whether r satisfies every clause of the filter. A clause
// on a metric, param, tag or end time the run lacks does not match, with
// any comparator.
func (f *RunFilter) Match(r *Run) bool {
	if f == nil {
		return true
	}
	for i := range f.preds {
		if !f.preds[i].matchRun(r) {
			return false
		}
	}
	return true
}

func (p *searchPredicate) matchRun(r *Run) bool {
	switch p.entity {
	case entMetric:
		m, ok := r.Metric(p.key)
		return ok && p.matchFloat(m.Value)
	case entParam:
		v, ok := r.Param(p.key)
		return ok && p.matchString(v)
	case entTag:
		v, ok := r.Tag(p.key)
		return ok && p.matchString(v)
	case entAttribute:
		switch p.key {
		case "start_time":
			return p.matchInt(r.Info.StartTime)
		case "end_time":
			// MLflow has no end time (None) for a run still going.
			return r.Info.EndTime != 0 && p.matchInt(r.Info.EndTime)
		case "run_id":
			return p.matchString(r.Info.RunID)
		case "run_name":
			return p.matchString(r.Info.RunName)
		case "user_id":
			return p.matchString(r.Info.UserID)
		case "status":
			return p.matchString(string(r.Info.Status))
		case "artifact_uri":
			return p.matchString(r.Info.ArtifactURI)
		}
	case entDataset:
		for _, in := range r.Inputs {
			switch p.key {
			case "name":
				if p.matchString(in.Dataset.Name) {
					return true
				}
			case "digest":
				if p.matchString(in.Dataset.Digest) {
					return true
				}
			case "context":
				for _, t := range in.Tags {
					if t.Key == mlflowDatasetContextTag && p.matchString(t.Value) {
						return true
					}
				}
			}
		}
	}
	return false
}

// searchSortValue is one run's or model version's value for one order_by
// clause. rank puts values first, then NaN, then missing values, in
// either direction, as MLflow does.
type searchSortValue struct {
	rank int8 // 0 value, 1 NaN, 2 missing
	f    float64
	i    int64
	s    string
}

const (
	rankValue int8 = iota
	rankNaN
	rankMissing
)

// searchSortKind is the type of the values an order_by clause compares.
type searchSortKind int

const (
	sortFloat searchSortKind = iota + 1
	sortInt
	sortString
)

// compareSearchSortValues orders a and b for one clause.
func compareSearchSortValues(kind searchSortKind, asc bool, a, b searchSortValue) int {
	if a.rank != b.rank {
		return int(a.rank) - int(b.rank)
	}
	if a.rank != rankValue {
		return 0
	}
	var c int
	switch kind {
	case sortFloat:
		switch {
		case a.f < b.f:
			c = -1
		case a.f > b.f:
			c = 1
		}
	case sortInt:
		switch {
		case a.i < b.i:
			c = -1
		case a.i > b.i:
			c = 1
		}
	case sortString:
		c = strings.Compare(a.s, b.s)
	}
	if !asc {
		c = -c
	}
	return c
}

// runOrderClause is one parsed order_by clause for runs.
type runOrderClause struct {
	entity searchEntity
	key    string
	asc    bool
}

func (c runOrderClause) kind() searchSortKind {
	switch {
	case c.entity == entMetric:
		return sortFloat
	case c.entity == entAttribute && isRunNumericAttribute(c.key):
		return sortInt
	}
	return sortString
}

func (c runOrderClause) sortValue(r *Run) searchSortValue {
	missing := searchSortValue{rank: rankMissing}
	switch c.entity {
	case entMetric:
		m, ok := r.Metric(c.key)
		switch {
		case !ok:
			return missing
		case math.IsNaN(m.Value):
			return searchSortValue{rank: rankNaN}
		}
		return searchSortValue{f: m.Value}
	case entParam:
		if v, ok := r.Param(c.key); ok {
			return searchSortValue{s: v}
		}
		return missing
	case entTag:
		if v, ok := r.Tag(c.key); ok {
			return searchSortValue{s: v}
		}
		return missing
	}
	switch c.key {
	case "start_time":
		return searchSortValue{i: r.Info.StartTime}
	case "end_time":
		if r.Info.EndTime == 0 {
			return missing
		}
		return searchSortValue{i: r.Info.EndTime}
	case "run_id":
		return searchSortValue{s: r.Info.RunID}
	case "run_name":
		return searchSortValue{s: r.Info.RunName}
	case "user_id":
		return searchSortValue{s: r.Info.UserID}
	case "status":
		return searchSortValue{s: string(r.Info.Status)}
	case "artifact_uri":
		return searchSortValue{s: r.Info.ArtifactURI}
	}
	return missing
}

// RunOrder is a parsed order_by list for runs. The zero value and nil
// sort in MLflow's default order.
type RunOrder struct {
	clauses []runOrderClause
}

// ParseRunOrderBy parses order_by clauses such as "metrics.loss DESC" or
// "attributes.start_time"; nil or empty means MLflow's default order,
// start_time descending then run_id ascending. Errors are *Error with
// CodeInvalidParameterValue.
func ParseRunOrderBy(clauses []string) (*RunOrder, error) {
	o := &RunOrder{}
	for _, src := range clauses {
		c, err := parseRunOrderClause(src)
		if err != nil {
			return nil, Errorf(CodeInvalidParameterValue, "invalid order_by clause %q: %v", src, err)
		}
		o.clauses = append(o.clauses, c)
	}
	return o, nil
}

func parseRunOrderClause(src string) (runOrderClause, error) {
	id, asc, err := parseSearchOrderClause(src)
	if err != nil {
		return runOrderClause{}, err
	}
	e, err := runSearchEntity(id)
	if err != nil {
		return runOrderClause{}, err
	}
	c := runOrderClause{entity: e, key: id.key, asc: asc}
	switch e {
	case entDataset:
		return runOrderClause{}, fmt.Errorf("runs cannot be ordered by dataset fields")
	case entAttribute:
		key, ok := runSearchAttribute(id.key, true)
		if !ok {
			return runOrderClause{}, fmt.Errorf("unknown attribute %q; orderable attributes are run_id, run_name, user_id, status, artifact_uri, start_time (alias created), end_time", id.key)
		}
		c.key = key
	}
	return c, nil
}

// Sort orders runs in place by the clauses, each breaking the ties of
// the one before, then by start_time descending and run_id ascending.
// Runs lacking a clause's key come after those having it in either
// direction, NaN metrics just before them. The sort is stable.
func (o *RunOrder) Sort(runs []*Run) {
	var clauses []runOrderClause
	if o != nil {
		clauses = o.clauses
	}
	all := make([]runOrderClause, 0, len(clauses)+2)
	all = append(all, clauses...)
	all = append(all,
		runOrderClause{entity: entAttribute, key: "start_time", asc: false},
		runOrderClause{entity: entAttribute, key: "run_id", asc: true})
	kinds := make([]searchSortKind, len(all))
	for i, c := range all {
		kinds[i] = c.kind()
	}
	type keyed struct {
		run  *Run
		keys []searchSortValue
	}
	items := make([]keyed, len(runs))
	for i, r := range runs {
		keys := make([]searchSortValue, len(all))
		for j, c := range all {
			keys[j] = c.sortValue(r)
		}
		items[i] = keyed{run: r, keys: keys}
	}
	slices.SortStableFunc(items, func(a, b keyed) int {
		for j := range all {
			if c := compareSearchSortValues(kinds[j], all[j].asc, a.keys[j], b.keys[j]); c != 0 {
				return c
			}
		}
		return 0
	})
	for i := range items {
		runs[i] = items[i].run
	}
}

// ModelVersionFilter is a parsed MLflow model version search filter. The
// zero value and nil match every model version that is not deleted.
type ModelVersionFilter struct {
	preds []searchPredicate
}

// ParseModelVersionFilter parses a model version search filter such as
// "name = 'clf' and version_number > 2" or "run_id IN ('a', 'b')"; ""
// matches every version. Identifiers are name, run_id, source_path,
// version_number (attribute. optional) and tags.<key>. Errors are *Error
// with CodeInvalidParameterValue.
func ParseModelVersionFilter(filter string) (*ModelVersionFilter, error) {
	clauses, err := parseSearchClauses(filter)
	if err != nil {
		return nil, Errorf(CodeInvalidParameterValue, "invalid filter %q: %v", filter, err)
	}
	f := &ModelVersionFilter{}
	for _, c := range clauses {
		p, err := modelVersionPredicate(c)
		if err != nil {
			return nil, Errorf(CodeInvalidParameterValue, "invalid filter %q: %v", filter, err)
		}
		f.preds = append(f.preds, p)
	}
	return f, nil
}

func modelVersionPredicate(c searchClause) (searchPredicate, error) {
	e, err := modelVersionSearchEntity(c.id)
	if err != nil {
		return searchPredicate{}, err
	}
	p := searchPredicate{entity: e, key: c.id.key, op: c.op}
	what := c.id.raw
	if e == entTag {
		if err := checkSearchComparator(c.op, stringOps, "tags"); err != nil {
			return searchPredicate{}, err
		}
		if err := checkStringOperand(c, what, false); err != nil {
			return searchPredicate{}, err
		}
		p.str = c.val.text
		return p, nil
	}
	switch c.id.key {
	case "name", "run_id", "source_path", "version_number":
	default:
		return searchPredicate{}, fmt.Errorf("unknown attribute %q; model versions are searched by name, run_id, source_path, version_number or tags.<key>", c.id.key)
	}
	if c.id.key == "version_number" {
		if err := checkSearchComparator(c.op, numericOps, "version_number"); err != nil {
			return searchPredicate{}, err
		}
		// MLflow takes the version quoted or not.
		if c.val.kind != valNumber && c.val.kind != valString {
			return searchPredicate{}, fmt.Errorf("version_number needs an integer, got %s", c.val.describe())
		}
		if p.integer, err = parseSearchInteger(c.val.text, "version_number"); err != nil {
			return searchPredicate{}, err
		}
		return p, nil
	}
	if err := checkSearchComparator(c.op, mvAttributeOps, c.id.key); err != nil {
		return searchPredicate{}, err
	}
	if err := checkStringOperand(c, what, c.id.key == "run_id"); err != nil {
		return searchPredicate{}, err
	}
	p.str, p.list = c.val.text, c.val.list
	return p, nil
}

// Match reports whether mv satisfies every clause of the filter. Versions
// in MLflow's internal deleted stage never match, as MLflow's FileStore
// keeps them on disk but hides them from searches; a version without a
// run matches no run_id clause.
func (f *ModelVersionFilter) Match(mv *ModelVersion) bool {
	if mv.CurrentStage == stageDeletedInternal {
		return false
	}
	if f == nil {
		return true
	}
	for i := range f.preds {
		if !f.preds[i].matchModelVersion(mv) {
			return false
		}
	}
	return true
}

func (p *searchPredicate) matchModelVersion(mv *ModelVersion) bool {
	if p.entity == entTag {
		for _, t := range mv.Tags {
			if t.Key == p.key {
				return p.matchString(t.Value)
			}
		}
		return false
	}
	switch p.key {
	case "name":
		return p.matchString(mv.Name)
	case "run_id":
		return mv.RunID != "" && p.matchString(mv.RunID)
	case "source_path":
		return p.matchString(mv.Source)
	case "version_number":
		v, err := strconv.ParseInt(mv.Version, 10, 64)
		return err == nil && p.matchInt(v)
	}
	return false
}

// isModelVersionOrderKey reports whether model versions can be ordered by
// the attribute key.
func isModelVersionOrderKey(key string) bool {
	switch key {
	case "name", "version_number", "creation_timestamp", "last_updated_timestamp":
		return true
	}
	return false
}

// mvOrderClause is one parsed order_by clause for model versions.
type mvOrderClause struct {
	key string
	asc bool
}

func (c mvOrderClause) kind() searchSortKind {
	if c.key == "name" {
		return sortString
	}
	return sortInt
}

func (c mvOrderClause) sortValue(mv *ModelVersion) searchSortValue {
	switch c.key {
	case "name":
		return searchSortValue{s: mv.Name}
	case "version_number":
		v, err := strconv.ParseInt(mv.Version, 10, 64)
		if err != nil {
			return searchSortValue{rank: rankMissing}
		}
		return searchSortValue{i: v}
	case "creation_timestamp":
		return searchSortValue{i: mv.CreationTimestamp}
	case "last_updated_timestamp":
		return searchSortValue{i: mv.LastUpdatedTimestamp}
	}
	return searchSortValue{rank: rankMissing}
}

// ModelVersionOrder is a parsed order_by list for model versions. The
// zero value and nil sort in MLflow's default order.
type ModelVersionOrder struct {
	clauses []mvOrderClause
}

// ParseModelVersionOrderBy parses order_by clauses for model versions over
// name, version_number, creation_timestamp and last_updated_timestamp;
// nil or empty means MLflow FileStore's default, last_updated_timestamp
// DESC, name ASC, version_number DESC. Errors are *Error with
// CodeInvalidParameterValue.
func ParseModelVersionOrderBy(clauses []string) (*ModelVersionOrder, error) {
	o := &ModelVersionOrder{}
	for _, src := range clauses {
		id, asc, err := parseSearchOrderClause(src)
		if err == nil {
			var e searchEntity
			if e, err = modelVersionSearchEntity(id); err == nil {
				switch {
				case e == entTag:
					err = fmt.Errorf("model versions cannot be ordered by tags")
				case !isModelVersionOrderKey(id.key):
					err = fmt.Errorf("unknown attribute %q; model versions are ordered by name, version_number, creation_timestamp or last_updated_timestamp", id.key)
				}
			}
		}
		if err != nil {
			return nil, Errorf(CodeInvalidParameterValue, "invalid order_by clause %q: %v", src, err)
		}
		o.clauses = append(o.clauses, mvOrderClause{key: id.key, asc: asc})
	}
	return o, nil
}

// Sort orders mvs in place by the clauses, then by name ascending and
// version_number descending to break ties. Versions are compared as
// numbers. The sort is stable.
func (o *ModelVersionOrder) Sort(mvs []ModelVersion) {
	var clauses []mvOrderClause
	if o != nil {
		clauses = o.clauses
	}
	if len(clauses) == 0 {
		clauses = []mvOrderClause{{"last_updated_timestamp", false}, {"name", true}, {"version_number", false}}
	}
	all := slices.Clone(clauses)
	if !slices.ContainsFunc(all, func(c mvOrderClause) bool { return c.key == "name" }) {
		all = append(all, mvOrderClause{"name", true})
	}
	if !slices.ContainsFunc(all, func(c mvOrderClause) bool { return c.key == "version_number" }) {
		all = append(all, mvOrderClause{"version_number", false})
	}
	type keyed struct {
		mv   ModelVersion
		keys []searchSortValue
	}
	items := make([]keyed, len(mvs))
	for i := range mvs {
		keys := make([]searchSortValue, len(all))
		for j, c := range all {
			keys[j] = c.sortValue(&mvs[i])
		}
		items[i] = keyed{mv: mvs[i], keys: keys}
	}
	slices.SortStableFunc(items, func(a, b keyed) int {
		for j, c := range all {
			if d := compareSearchSortValues(c.kind(), c.asc, a.keys[j], b.keys[j]); d != 0 {
				return d
			}
		}
		return 0
	})
	for i := range items {
		mvs[i] = items[i].mv
	}
}

// encodePageToken returns the page token for the results from offset on,
// spelled as MLflow's stores spell it: base64 of the JSON {"offset": n}.
func encodePageToken(offset int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"offset": %d}`, offset))
}

// decodePageToken returns the offset a page token from encodePageToken
// (or from an MLflow store) stands for; "" is the first page. A token
// that does not decode is a *Error with CodeInvalidParameterValue.
func decodePageToken(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return 0, Errorf(CodeInvalidParameterValue, "invalid page token %q: not base64", token)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return 0, Errorf(CodeInvalidParameterValue, "invalid page token %q: decoded value %q is not a JSON object", token, raw)
	}
	field, ok := fields["offset"]
	if !ok {
		return 0, Errorf(CodeInvalidParameterValue, "invalid page token %q: no offset in %q", token, raw)
	}
	// MLflow accepts the offset as a number or a numeric string.
	text := string(bytes.TrimSpace(field))
	var s string
	if json.Unmarshal(field, &s) == nil {
		text = strings.TrimSpace(s)
	}
	offset, err := strconv.Atoi(text)
	if err != nil || offset <= 0 {
		return 0, Errorf(CodeInvalidParameterValue, "invalid page token %q: offset %s is not a positive integer", token, field)
	}
	return offset, nil
}

// pageOf cuts the page of max items starting at offset out of items, and
// returns the token of the next page ("" on the last).
func pageOf[T any](items []T, offset, max int) ([]T, string) {
	if offset >= len(items) {
		return nil, ""
	}
	end := min(offset+max, len(items))
	if end < len(items) {
		return items[offset:end], encodePageToken(end)
	}
	return items[offset:end], ""
}
