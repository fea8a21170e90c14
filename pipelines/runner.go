package pipelines

import (
	"context"
	"log/slog"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// inputs and outputs
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

// runBeam builds the graph and executes it on the runner named in the
// options. Prism runs in this process with no job server, container or
// flag; every other runner takes its own flags (--project, --region,
// --endpoint, --worker_binary, ...) from the command line, where Beam's
// packages registered them.
func runBeam(ctx context.Context, pl plan, log *slog.Logger) error {
	// Runners check that Init ran; outside a worker it only sets Beam's
	// logging up, which a CLI may already have done and tuned.
	if !beam.Initialized() {
		beam.Init()
	}
	p := buildGraph(pl)
	log.Debug("pipeline built", "runner", pl.opts.Runner)
	if pl.opts.Runner == RunnerPrism {
		_, err := prism.Execute(ctx, p)
		return err
	}
	_, err := beam.Run(ctx, pl.opts.Runner, p)
	return err
}
