package serving

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/nebras-ai/nebras/serving/openai"
)

// APIKeys are the bearer tokens the API accepts, held only as SHA-256
// hashes, each with its own optional rate limit.
type APIKeys struct {
	keys []apiKey
}

type apiKey struct {
	hash [sha256.Size]byte
	// limiter is nil when the key has no rate limit.
	limiter *rate.Limiter
}

// id names the key in logs without revealing it: the first hex digits of
// its hash, which is not a secret when the key has enough entropy.
func (k *apiKey) id() string { return hex.EncodeToString(k.hash[:4]) }

// LoadAPIKeys reads an API key file; see ParseAPIKeys for its format.
func LoadAPIKeys(path string) (*APIKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	defer f.Close()
	keys, err := ParseAPIKeys(f)
	if err != nil {
		return nil, fmt.Errorf("api keys %s: %w", path, err)
	}
	return keys, nil
}

// ParseAPIKeys reads API keys, one per line. Blank lines and lines starting
// with '#' are skipped. A line is a key and optional settings, separated
// by white space:
//
//	sha256:<64 hex digits>  rate=60/m
//	plain-token-without-spaces
//
// The sha256: form keeps the file free of secrets (make it with
// `printf %s "$KEY" | sha256sum`); a plain token is hashed as it is read.
// rate=N/s, N/m or N/h limits the key to N requests per second, minute or
// hour, with bursts of up to N. Errors name the line but never quote a
// key. A file that holds no key is an error, since it would lock every
// client out.
func ParseAPIKeys(r io.Reader) (*APIKeys, error) {
	sc := bufio.NewScanner(r)
	seen := map[[sha256.Size]byte]int{}
	var keys APIKeys
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		var k apiKey
		if hexHash, ok := strings.CutPrefix(fields[0], "sha256:"); ok {
			b, err := hex.DecodeString(hexHash)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("line %d: a sha256: key must be followed by 64 hex digits", n)
			}
			copy(k.hash[:], b)
		} else {
			k.hash = sha256.Sum256([]byte(fields[0]))
		}
		for _, f := range fields[1:] {
			spec, ok := strings.CutPrefix(f, "rate=")
			if !ok {
				return nil, fmt.Errorf("line %d: unknown setting %q (want rate=N/s, N/m or N/h)", n, strings.SplitN(f, "=", 2)[0])
			}
			if k.limiter != nil {
				return nil, fmt.Errorf("line %d: rate given twice", n)
			}
			lim, err := parseRate(spec)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			k.limiter = lim
		}
		if prev, dup := seen[k.hash]; dup {
			return nil, fmt.Errorf("line %d: the same key as line %d", n, prev)
		}
		seen[k.hash] = n
		keys.keys = append(keys.keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if len(keys.keys) == 0 {
		return nil, errors.New("no keys: the file must hold at least one key")
	}
	return &keys, nil
}

// parseRate parses N/s, N/m or N/h.
func parseRate(spec string) (*rate.Limiter, error) {
	num, unit, ok := strings.Cut(spec, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 {
		return nil, fmt.Errorf("rate %q: want a positive whole number of requests, then /s, /m or /h", spec)
	}
	var per time.Duration
	switch unit {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		return nil, fmt.Errorf("rate %q: the period must be s, m or h", spec)
	}
	return rate.NewLimiter(rate.Limit(float64(n)/per.Seconds()), n), nil
}

// lookup finds the key whose hash matches token's. It compares with every
// key, in constant time each, and does not stop at a match, so timing
// tells neither whether nor which key matched.
func (ks *APIKeys) lookup(token string) *apiKey {
	h := sha256.Sum256([]byte(token))
	found := -1
	for i := range ks.keys {
		eq := subtle.ConstantTimeCompare(h[:], ks.keys[i].hash[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil
	}
	return &ks.keys[found]
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate is the middleware of the /v1 routes when keys are
// configured: a missing or unknown key is a 401, a key over its rate limit
// a 429 with Retry-After.
func (s *Server) authenticate(c *gin.Context) {
	token, ok := bearerToken(c.GetHeader("Authorization"))
	var k *apiKey
	if ok {
		k = s.keys.lookup(token)
	}
	if k == nil {
		s.metrics.reject(rejectUnauthorized)
		msg := "Missing API key: send it as \"Authorization: Bearer <key>\"."
		if ok {
			msg = "Invalid API key."
		}
		c.Header("WWW-Authenticate", `Bearer realm="nebras"`)
		abortWith(c, newAPIError(http.StatusUnauthorized, openai.TypeAuthentication, codeInvalidAPIKey, msg))
		return
	}
	c.Set(ctxAPIKey, k.id())
	if k.limiter != nil {
		if wait, allowed := reserve(k.limiter, time.Now()); !allowed {
			s.metrics.reject(rejectRateLimited)
			e := newAPIError(http.StatusTooManyRequests, openai.TypeRateLimit, codeRateLimited,
				"Rate limit reached for this API key; retry after the delay in the Retry-After header.")
			e.retryAfter = int(max(1, math.Ceil(wait.Seconds())))
			abortWith(c, e)
			return
		}
	}
	c.Next()
}

// reserve takes a token from lim if one is there; otherwise it reports how
// long until one will be, without consuming it.
func reserve(lim *rate.Limiter, now time.Time) (time.Duration, bool) {
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}
