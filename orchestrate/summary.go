package orchestrate

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// Stage statuses.
const (
	StatusRan       = "ran"
	StatusSkipped   = "skipped (cached)"
	StatusFailed    = "failed"
	StatusNotNeeded = "not needed" // tickets, when the data are files
	StatusNotRun    = "not run"    // after a failed stage
)

// Summary is what a pipeline run did: printed at the end, and written as
// WORK/last-run.json for machines (CI reads the decision from it).
type Summary struct {
	Started     time.Time      `json:"started"`
	Seconds     float64        `json:"seconds"`
	Config      string         `json:"config"`
	WorkDir     string         `json:"work_dir"`
	TrackingURI string         `json:"tracking_uri"`
	Experiment  string         `json:"experiment"`
	ParentRunID string         `json:"parent_run_id"`
	Stages      []StageSummary `json:"stages"`
	// FailedStage and Error are set when a stage failed.
	FailedStage string `json:"failed_stage,omitempty"`
	Error       string `json:"error,omitempty"`

	// Dataset is the prepared dataset's directory and DatasetDigest its
	// manifest's digest; empty when prepare did not finish.
	Dataset       string `json:"dataset,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`

	RegisteredModel string `json:"registered_model"`
	Alias           string `json:"alias"`
	// Candidate is the version train registered (or found cached).
	Candidate string `json:"candidate_version,omitempty"`
	// Blessed is the gate's decision; nil when eval did not finish.
	Blessed     *bool    `json:"blessed,omitempty"`
	Gate        string   `json:"gate,omitempty"`
	GateReasons []string `json:"gate_reasons,omitempty"`
	Baseline    string   `json:"baseline,omitempty"`
	// Promotion is promoted, already in production, not blessed or
	// disabled.
	Promotion string `json:"promotion,omitempty"`
	// ProductionVersion is the version the alias points at after the
	// run; "" when it points at none.
	ProductionVersion string `json:"production_version"`
	Report            string `json:"report,omitempty"`
	EvalJSON          string `json:"eval_json,omitempty"`
}

// StageSummary is one stage's line in the summary.
type StageSummary struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Seconds float64 `json:"seconds"`
	Key     string  `json:"key,omitempty"`
	RunID   string  `json:"run_id,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Stage returns the named stage's summary, or nil.
func (s *Summary) Stage(name string) *StageSummary {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i]
		}
	}
	return nil
}

func (s *Summary) writeJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// Write prints the summary for people: each stage (ran or skipped, time,
// key prefix), the gate's decision with its reasons, the version in
// production, the MLflow parent run and where the report is.
func (s *Summary) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "stage\tstatus\ttime\tkey\tmlflow run")
	for _, st := range s.Stages {
		key := st.Key
		if len(key) > 12 {
			key = key[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1fs\t%s\t%s\n", st.Name, st.Status, st.Seconds, orDefault(key, "-"), orDefault(st.RunID, "-"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	if s.FailedStage != "" {
		p("FAILED:      %s", s.Error)
	}
	if s.Candidate != "" {
		p("candidate:   %s version %s", s.RegisteredModel, s.Candidate)
	}
	if s.Blessed != nil {
		verdict := "NOT BLESSED"
		if *s.Blessed {
			verdict = "BLESSED"
		}
		p("gate:        %s (%s; baseline %s)", verdict, s.Gate, s.Baseline)
		for _, r := range s.GateReasons {
			p("               - %s", r)
		}
	}
	cached := false
	if st := s.Stage(StagePromote); st != nil && st.Status == StatusSkipped {
		cached = true
	}
	switch {
	case cached && s.Promotion != "":
		p("promotion:   nothing new: the decision on version %s is cached (%s in an earlier run)", s.Candidate, s.Promotion)
	case s.Promotion == Promoted:
		p("promotion:   version %s promoted to %s", s.Candidate, s.Alias)
	case s.Promotion == AlreadyInProduction:
		p("promotion:   none needed: version %s is already %s", s.Candidate, s.Alias)
	case s.Promotion == NotBlessed:
		p("promotion:   none: not blessed, %s stays where it was", s.Alias)
	case s.Promotion == PromotionDisabled:
		p("promotion:   none: promote.enabled is false")
	}
	prod := "none"
	if s.ProductionVersion != "" {
		prod = "version " + s.ProductionVersion
	}
	p("production:  %s@%s is %s", s.RegisteredModel, s.Alias, prod)
	p("mlflow:      parent run %s (experiment %q) in %s", s.ParentRunID, s.Experiment, s.TrackingURI)
	if s.Report != "" {
		p("report:      %s", s.Report)
	}
	p("record:      %s", filepath.Join(s.WorkDir, LastRunFile))
	ran, skipped := 0, 0
	for _, st := range s.Stages {
		switch st.Status {
		case StatusRan:
			ran++
		case StatusSkipped:
			skipped++
		}
	}
	_, err := fmt.Fprintf(w, "%d ran, %d skipped in %s\n", ran, skipped, strings.TrimSuffix(time.Duration(s.Seconds*float64(time.Second)).Round(100*time.Millisecond).String(), ".0s"))
	return err
}
