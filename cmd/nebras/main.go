// Command nebras turns a help desk's ticket history into a support
// assistant: it prepares datasets from tickets, and (as later stages land)
// trains, evaluates, promotes and serves GPT-2 models.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/spf13/cobra"

	// Registers the pipeline's DoFns and types; a worker binary needs them
	// before it decodes the pipeline it is asked to run.
	_ "github.com/nebras-ai/nebras/pipelines"
)

func main() {
	// A Beam runner (Dataflow, Flink, ...) starts this same binary as an SDK
	// worker with Beam's own flags. Hand those runs to Beam before cobra
	// sees flags it does not know.
	if isBeamWorker(os.Args[1:]) {
		flag.Parse()
		beam.Init()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nebras:", oneLine(err))
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		// The evaluation worked and the gate said no: CI acts on 3.
		var nb errNotBlessed
		if errors.As(err, &nb) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func isBeamWorker(args []string) bool {
	for _, a := range args {
		if a == "--worker" || a == "-worker" || strings.HasPrefix(a, "--worker=t") || strings.HasPrefix(a, "-worker=t") {
			return true
		}
	}
	return false
}

// oneLine keeps an error to the single line the ground rules promise.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// app holds what every command shares.
type app struct {
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
	log            *slog.Logger
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "nebras",
		Short:         "Turn a help desk's ticket history into a trained, checked and served support assistant",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setupLogging()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(a.prepareCmd(), a.ticketsCmd(), a.tokenizerCmd(), a.modelCmd(), a.generateCmd(), a.trainCmd(), a.evalCmd(), a.promoteCmd(), a.runsCmd(), a.serveCmd(), a.benchCmd(), a.healthcheckCmd(), a.runCmd(), a.retrainCmd(), a.watchCmd())
	return root
}

func (a *app) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", a.logLevel)}
	}
	newHandler := func(l slog.Level) slog.Handler {
		opts := &slog.HandlerOptions{Level: l}
		if a.logFormat == "json" {
			return slog.NewJSONHandler(a.stderr, opts)
		}
		return slog.NewTextHandler(a.stderr, opts)
	}
	if a.logFormat != "text" && a.logFormat != "json" {
		return usageError{fmt.Errorf("--log-format %q: want text or json", a.logFormat)}
	}
	a.log = slog.New(newHandler(level))
	// beam.Init installs Beam's own default logger; run it first so the
	// default set below is the one that stays.
	if !beam.Initialized() {
		beam.Init()
	}
	// Beam and Prism log every job transition through the default logger
	// at info level; that is noise to a data engineer, so libraries get
	// warnings and up unless debug logging was asked for.
	slog.SetDefault(slog.New(newHandler(max(level, slog.LevelWarn))))
	if level <= slog.LevelDebug {
		slog.SetDefault(a.log)
	}
	return nil
}
