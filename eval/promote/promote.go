// Package promote moves a registered model's production alias in the
// MLflow model registry, keeping the version it replaces under a
// previous alias for rollback, and records who promoted which version,
// when and why as tags of the version.
//
// The aliases are the truth and the tags are the record. Promote writes
// in this order: the tags of the promoted version, the production alias,
// the previous alias; Rollback likewise. A failure midway therefore
// never leaves production unset: it leaves either the old production,
// with tags of the attempt on the version (promote again), or the new
// production with the previous alias not yet moved, which the error
// says (the nebras.promoted_from tag names the version it should point
// at).
package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nebras-ai/nebras/tracking"
)

// Tags written on model versions.
const (
	TagPromotedAt      = "nebras.promoted_at"      // RFC 3339, UTC
	TagPromotedBy      = "nebras.promoted_by"      // Options.Actor
	TagPromotionReason = "nebras.promotion_reason" // Options.Reason
	TagPromotionForced = "nebras.promotion_forced" // "true" for an unblessed version promoted with Force
	TagPromotedFrom    = "nebras.promoted_from"    // the version production pointed at before; "" if none
	TagRolledBackAt    = "nebras.rolled_back_at"   // on the version a rollback restored
	TagRolledBackBy    = "nebras.rolled_back_by"   // Options.Actor
	TagRollbackReason  = "nebras.rollback_reason"  // Options.Reason
	TagRolledBackFrom  = "nebras.rolled_back_from" // the version the rollback took out of production
	defaultAlias       = "production"
	defaultPrevAlias   = "previous"
	unknownActor       = "unknown"
)

// Options say which model and aliases to move, and what to record.
type Options struct {
	// Model is the registered model, e.g. nebras-support-bot.
	Model string
	// Alias is the alias serving traffic; "" means "production".
	Alias string
	// PreviousAlias keeps the version Alias pointed at before, for
	// rollback; "" means "previous".
	PreviousAlias string
	// Actor is who promotes; "" means $USER.
	Actor string
	// Reason says why, for the record.
	Reason string
	// Force promotes a version the gate did not bless; the promotion is
	// tagged as forced.
	Force bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Result says what Promote or Rollback did. Version is the version the
// alias points at now; PreviousVersion the one it pointed at before
// ("" if none).
type Result struct {
	Model, Alias, Version, PreviousVersion string
	// Forced is true when an unblessed version was promoted with Force.
	Forced bool
	// RolledBack is true for a rollback.
	RolledBack bool
	// NoOp is true when the alias already pointed at the version, and
	// nothing was written.
	NoOp bool
}

// String says what happened in one line.
func (r *Result) String() string {
	switch {
	case r.NoOp:
		return fmt.Sprintf("%s version %s is already %s; nothing to do", r.Model, r.Version, r.Alias)
	case r.RolledBack:
		return fmt.Sprintf("rolled back %s: %s is version %s again (was %s)", r.Model, r.Alias, r.Version, r.PreviousVersion)
	}
	s := fmt.Sprintf("promoted %s version %s to %s", r.Model, r.Version, r.Alias)
	if r.PreviousVersion != "" {
		s += fmt.Sprintf(" (was %s)", r.PreviousVersion)
	}
	if r.Forced {
		s += ", forced past the gate"
	}
	return s
}

// withDefaults fills the defaults in and checks what cannot be
// defaulted.
func (opt Options) withDefaults() (Options, error) {
	if opt.Model == "" {
		return opt, errors.New("no registered model given")
	}
	if opt.Alias == "" {
		opt.Alias = defaultAlias
	}
	if opt.PreviousAlias == "" {
		opt.PreviousAlias = defaultPrevAlias
	}
	if opt.Alias == opt.PreviousAlias {
		return opt, fmt.Errorf("the alias and the previous alias are both %q", opt.Alias)
	}
	if opt.Actor == "" {
		opt.Actor = os.Getenv("USER")
	}
	if opt.Actor == "" {
		opt.Actor = unknownActor
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return opt, nil
}

// aliasVersion returns the version alias points at, "" if it is not
// set.
func aliasVersion(ctx context.Context, s tracking.Store, model, alias string) (string, error) {
	mv, err := s.GetModelVersionByAlias(ctx, model, alias)
	if tracking.IsAliasNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("alias %s of %s: %w", alias, model, err)
	}
	return mv.Version, nil
}

func setTags(ctx context.Context, s tracking.Store, model, version string, tags []tracking.Tag) error {
	for _, t := range tags {
		if err := s.SetModelVersionTag(ctx, model, version, t.Key, t.Value); err != nil {
			return fmt.Errorf("tag %s version %s with %s: %w", model, version, t.Key, err)
		}
	}
	return nil
}

// Promote points opt.Alias at version, which must exist and be READY,
// and opt.PreviousAlias at the version it replaces. A version the gate
// did not bless is refused unless opt.Force. Promoting the version
// already in production writes nothing and says so in Result.NoOp.
func Promote(ctx context.Context, s tracking.Store, version string, blessed bool, opt Options) (*Result, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	if _, err := strconv.ParseUint(version, 10, 63); err != nil {
		return nil, fmt.Errorf("promote %s: version %q is not a version number", opt.Model, version)
	}
	if !blessed && !opt.Force {
		return nil, fmt.Errorf("promote %s version %s: not blessed by the gate (force the promotion to override)", opt.Model, version)
	}
	mv, err := s.GetModelVersion(ctx, opt.Model, version)
	if err != nil {
		return nil, fmt.Errorf("promote %s version %s: %w", opt.Model, version, err)
	}
	if mv.Status != tracking.ModelVersionReady {
		return nil, fmt.Errorf("promote %s version %s: status is %s, not %s", opt.Model, version, mv.Status, tracking.ModelVersionReady)
	}
	current, err := aliasVersion(ctx, s, opt.Model, opt.Alias)
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	res := &Result{Model: opt.Model, Alias: opt.Alias, Version: mv.Version}
	if current == mv.Version {
		res.NoOp = true
		return res, nil
	}
	res.PreviousVersion = current
	res.Forced = !blessed
	tags := []tracking.Tag{
		{Key: TagPromotedAt, Value: opt.Now().UTC().Format(time.RFC3339)},
		{Key: TagPromotedBy, Value: opt.Actor},
		{Key: TagPromotionReason, Value: opt.Reason},
		{Key: TagPromotionForced, Value: strconv.FormatBool(res.Forced)},
		// Written even when empty, so that a tag left by an earlier
		// promotion of this version cannot name a wrong predecessor.
		{Key: TagPromotedFrom, Value: current},
	}
	if err := setTags(ctx, s, opt.Model, mv.Version, tags); err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	// previous first: a crash between the two moves leaves production
	// where it was (previous then names the same version), so running the
	// promotion again finds work left and finishes it. The other order
	// would leave production moved and previous stale, which a retry takes
	// for "already promoted" and a rollback would never repair.
	if current != "" {
		if err := s.SetRegisteredModelAlias(ctx, opt.Model, opt.PreviousAlias, current); err != nil {
			return nil, fmt.Errorf("promote %s version %s: set alias %s to %s: %w", opt.Model, version, opt.PreviousAlias, current, err)
		}
	}
	if err := s.SetRegisteredModelAlias(ctx, opt.Model, opt.Alias, mv.Version); err != nil {
		return nil, fmt.Errorf("promote %s version %s: set alias %s: %w", opt.Model, version, opt.Alias, err)
	}
	return res, nil
}

// Rollback swaps opt.Alias and opt.PreviousAlias: the previous version
// serves again, and the one it replaces becomes previous, so a second
// rollback undoes the first. The restored version is tagged with who
// rolled back, when and why.
func Rollback(ctx context.Context, s tracking.Store, opt Options) (*Result, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	prev, err := aliasVersion(ctx, s, opt.Model, opt.PreviousAlias)
	if err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	if prev == "" {
		return nil, fmt.Errorf("rollback %s: no %s version to roll back to", opt.Model, opt.PreviousAlias)
	}
	current, err := aliasVersion(ctx, s, opt.Model, opt.Alias)
	if err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	if current == "" {
		return nil, fmt.Errorf("rollback %s: no %s version to roll back from (%s is version %s; promote it instead)",
			opt.Model, opt.Alias, opt.PreviousAlias, prev)
	}
	res := &Result{Model: opt.Model, Alias: opt.Alias, Version: prev, PreviousVersion: current, RolledBack: true}
	if prev == current {
		res.NoOp = true
		return res, nil
	}
	tags := []tracking.Tag{
		{Key: TagRolledBackAt, Value: opt.Now().UTC().Format(time.RFC3339)},
		{Key: TagRolledBackBy, Value: opt.Actor},
		{Key: TagRollbackReason, Value: opt.Reason},
		{Key: TagRolledBackFrom, Value: current},
	}
	if err := setTags(ctx, s, opt.Model, prev, tags); err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	if err := s.SetRegisteredModelAlias(ctx, opt.Model, opt.Alias, prev); err != nil {
		return nil, fmt.Errorf("rollback %s: set alias %s: %w", opt.Model, opt.Alias, err)
	}
	if err := s.SetRegisteredModelAlias(ctx, opt.Model, opt.PreviousAlias, current); err != nil {
		return nil, fmt.Errorf("rollback %s: %s is version %s again, but %s could not be moved to %s: %w",
			opt.Model, opt.Alias, prev, opt.PreviousAlias, current, err)
	}
	return res, nil
}

// EvalResult is the part of eval.json, as `nebras eval` writes it, that
// promotion needs: the gate's verdict and the candidate it was about.
type EvalResult struct {
	Blessed   bool `json:"blessed"`
	Candidate struct {
		RegisteredModel string `json:"registered_model"`
		Version         string `json:"version"`
		RunID           string `json:"run_id"`
	} `json:"candidate"`
}

// ReadEvalResult reads eval.json. The verdict and the candidate's
// registered model and version must be there: promotion by a file that
// lacks them would guess.
func ReadEvalResult(path string) (*EvalResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval result: %w", err)
	}
	var probe struct {
		Blessed   *bool            `json:"blessed"`
		Candidate *json.RawMessage `json:"candidate"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("eval result %s: %w", path, err)
	}
	var out EvalResult
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("eval result %s: %w", path, err)
	}
	switch {
	case probe.Blessed == nil:
		return nil, fmt.Errorf("eval result %s: no \"blessed\" verdict", path)
	case probe.Candidate == nil || string(*probe.Candidate) == "null":
		return nil, fmt.Errorf("eval result %s: no \"candidate\"", path)
	case out.Candidate.RegisteredModel == "" || out.Candidate.Version == "":
		return nil, fmt.Errorf("eval result %s: the candidate is not a registered model version (candidate.registered_model %q, candidate.version %q)",
			path, out.Candidate.RegisteredModel, out.Candidate.Version)
	}
	return &out, nil
}
