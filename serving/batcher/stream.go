package batcher

// Stream is a generation in flight. Its text arrives in pieces on Text;
// Wait gives the whole result once it is done.
type Stream struct {
	text chan string
	done chan struct{}
	res  Result
	err  error
}

// Sink is the producing side of a Stream.
type Sink struct{ s *Stream }

// NewStream makes a stream whose producer may Send up to capacity pieces
// without blocking; a scheduler gives each request capacity MaxTokens, one
// piece per token at most, so a slow reader never stalls a batch.
func NewStream(capacity int) (*Stream, Sink) {
	s := &Stream{text: make(chan string, max(capacity, 1)), done: make(chan struct{})}
	return s, Sink{s}
}

// Text returns the channel of text pieces, closed when the generation ends.
// Pieces are whole UTF-8 and never hold part of a stop string.
func (s *Stream) Text() <-chan string { return s.text }

// Done is closed when the generation has ended.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Wait blocks until the generation ends and returns its result, or the
// error that ended it (the request context's error when it was cancelled).
func (s *Stream) Wait() (Result, error) {
	<-s.done
	return s.res, s.err
}

// Send delivers a piece of text. It must not be called after Finish, and
// never blocks while fewer than capacity pieces wait unread.
func (k Sink) Send(piece string) {
	if piece != "" {
		k.s.text <- piece
	}
}

// Finish ends the stream with its result or error.
func (k Sink) Finish(res Result, err error) {
	k.s.res, k.s.err = res, err
	close(k.s.text)
	close(k.s.done)
}
