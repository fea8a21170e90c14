package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/eval/promote"
)

func (a *app) promoteCmd() *cobra.Command {
	var (
		tf                 trackingFlags
		version, ifBlessed string
		rollback, force    bool
		opt                promote.Options
	)
	cmd := &cobra.Command{
		Use:   "promote (--model-version N | --if-blessed eval.json | --rollback) [--model NAME]",
		Short: "Move the production alias to a model version (keeping the last one as previous), or roll back",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, set := range []bool{version != "", ifBlessed != "", rollback} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageError{errors.New("give exactly one of --model-version, --if-blessed and --rollback")}
			}
			opt.Force = force
			s, _, err := tf.open()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx := cmd.Context()
			var res *promote.Result
			switch {
			case rollback:
				res, err = promote.Rollback(ctx, s, opt)
			case ifBlessed != "":
				ev, rerr := promote.ReadEvalResult(ifBlessed)
				if rerr != nil {
					return rerr
				}
				if ev.Candidate.Version == "" {
					return fmt.Errorf("%s names no registered version (the candidate was not a models:/ reference); use --model-version", ifBlessed)
				}
				if cmd.Flags().Changed("model") && ev.Candidate.RegisteredModel != opt.Model {
					return usageError{fmt.Errorf("%s evaluated %s, not --model %s", ifBlessed, ev.Candidate.RegisteredModel, opt.Model)}
				}
				opt.Model = ev.Candidate.RegisteredModel
				if opt.Reason == "" {
					opt.Reason = "blessed by " + ifBlessed
				}
				res, err = promote.Promote(ctx, s, ev.Candidate.Version, ev.Blessed, opt)
			default:
				if !force {
					return usageError{errors.New("--model-version promotes without an evaluation: add --force (the promotion is tagged as forced), or use --if-blessed eval.json")}
				}
				res, err = promote.Promote(ctx, s, version, false, opt)
			}
			if err != nil {
				return err
			}
			switch {
			case res.NoOp:
				fmt.Fprintf(a.stdout, "%s@%s is already version %s; nothing to do\n", res.Model, res.Alias, res.Version)
			case res.RolledBack:
				fmt.Fprintf(a.stdout, "rolled back: %s@%s is version %s again (previous: %s)\n", res.Model, res.Alias, res.Version, res.PreviousVersion)
			default:
				forced := ""
				if res.Forced {
					forced = " (forced)"
				}
				prev := "none"
				if res.PreviousVersion != "" {
					prev = res.PreviousVersion
				}
				fmt.Fprintf(a.stdout, "promoted%s: %s@%s is version %s; previous: %s\n", forced, res.Model, res.Alias, res.Version, prev)
			}
			return nil
		},
	}
	tf.register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&opt.Model, "model", "nebras-support-bot", "registered model")
	f.StringVar(&opt.Alias, "alias", "production", "alias to move")
	f.StringVar(&version, "model-version", "", "version to promote (needs --force: it has not been through the gate)")
	f.StringVar(&ifBlessed, "if-blessed", "", "promote the candidate of this eval.json if the gate blessed it")
	f.BoolVar(&rollback, "rollback", false, "swap the alias back to the previous version")
	f.BoolVar(&force, "force", false, "promote without (or against) the gate's blessing; tagged as forced")
	f.StringVar(&opt.Reason, "reason", "", "why, recorded as a tag on the version")
	return cmd
}
