package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/pipeline"
)

func TestRunOutputs(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := seedProject(t, s, "lineage")
		run, err := s.CreatePipelineRun(ctx, pipeline.Run{ProjectID: p.ID, Pipeline: pipeline.Train, Cause: pipeline.CauseManual,
			LogicalDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
		want := []pipeline.Output{
			{RunID: run.ID, MLflowRunID: "r1", CreatedAt: at},
			{RunID: run.ID, MLflowRunID: "r1", ModelName: "m", ModelVersion: 1, CreatedAt: at},
		}
		for _, o := range append(want, want[0]) { // the repeat is a no-op
			if err := s.AddRunOutput(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.RunOutputs(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("RunOutputs = %+v; want %+v", got, want)
		}
		if id, err := s.PipelineRunOf(ctx, "r1"); err != nil || id != run.ID {
			t.Errorf("PipelineRunOf(r1) = %v, %v; want %v", id, err, run.ID)
		}
		if err := s.AddRunOutput(ctx, pipeline.Output{RunID: 9999, MLflowRunID: "x"}); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("AddRunOutput(unknown run) = %v; want not found", err)
		}
	})
}
