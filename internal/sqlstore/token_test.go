package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/pipeline"
)

func TestRunTokens(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		c := lineage.Caller{ProjectID: 7, Project: "iris", PipelineRunID: 42, Commit: "abc123", ExpiresAt: exp}
		if err := s.CreateRunToken(ctx, "h1", c); err != nil {
			t.Fatal(err)
		}
		got, err := s.RunTokenCaller(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("RunTokenCaller (-want +got):\n%s", diff)
		}
		if _, err := s.RunTokenCaller(ctx, "nope"); posml.KindOf(err) != posml.KindNotFound {
			t.Errorf("RunTokenCaller(unknown) = %v; want not found", err)
		}

		// Expiring moves the expiry earlier, never later.
		early := exp.Add(-time.Hour)
		if err := s.ExpireRunTokens(ctx, 42, early); err != nil {
			t.Fatal(err)
		}
		if err := s.ExpireRunTokens(ctx, 42, exp.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.RunTokenCaller(ctx, "h1")
		if !got.ExpiresAt.Equal(early) {
			t.Errorf("ExpiresAt = %v; want %v", got.ExpiresAt, early)
		}
		n, err := s.DeleteExpiredRunTokens(ctx, early.Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredRunTokens = %d, %v; want 1", n, err)
		}
	})
}

func TestResourceClaims(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.ResourceOwner(ctx, lineage.Experiment, "iris"); posml.KindOf(err) != posml.KindNotFound {
			t.Fatalf("ResourceOwner(unclaimed) = %v; want not found", err)
		}
		for _, tc := range []struct {
			claim lineage.Claim
			want  pipeline.ProjectID
		}{
			{lineage.Claim{Kind: lineage.Experiment, Name: "iris", ProjectID: 1}, 1},
			{lineage.Claim{Kind: lineage.Experiment, Name: "iris", ProjectID: 2}, 1}, // first claim wins
			{lineage.Claim{Kind: lineage.RegisteredModel, Name: "iris", ProjectID: 2}, 2},
		} {
			got, err := s.ClaimResource(ctx, tc.claim)
			if err != nil || got != tc.want {
				t.Errorf("ClaimResource(%+v) = %v, %v; want %v", tc.claim, got, err, tc.want)
			}
		}
		if got, err := s.ResourceOwner(ctx, lineage.RegisteredModel, "iris"); err != nil || got != 2 {
			t.Errorf("ResourceOwner(model iris) = %v, %v; want 2", got, err)
		}
		cs, err := s.ProjectResources(ctx, 2)
		if err != nil || len(cs) != 1 || cs[0].Name != "iris" || cs[0].Kind != lineage.RegisteredModel {
			t.Errorf("ProjectResources(2) = %+v, %v", cs, err)
		}
	})
}

func TestPromotionDecisions(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v1, v2 := 0.9, 0.8
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		ds := []lineage.Decision{
			{ProjectID: 1, PipelineRunID: 10, ModelName: "m", Metric: "accuracy_score", Direction: "maximize",
				CandidateRunID: "r1", CandidateValue: &v1, Outcome: lineage.Registered, Reason: "first version",
				NewVersion: 1, AliasMoved: true, DecidedAt: at},
			{ProjectID: 1, PipelineRunID: 11, ModelName: "m", Metric: "accuracy_score", Direction: "maximize",
				CandidateRunID: "r2", CandidateValue: &v2, ChampionVersion: 1, ChampionRunID: "r1", ChampionValue: &v1,
				Outcome: lineage.Held, Reason: "not better", DecidedAt: at},
			{ProjectID: 2, PipelineRunID: 12, ModelName: "n", Metric: "log_loss", Direction: "minimize",
				Outcome: lineage.Held, Reason: "no candidate", DecidedAt: at},
		}
		for i := range ds {
			d, err := s.AddPromotionDecision(ctx, ds[i])
			if err != nil {
				t.Fatal(err)
			}
			if d.ID == 0 {
				t.Fatal("AddPromotionDecision returned no ID")
			}
			ds[i] = d
		}
		got, err := s.PromotionDecisionsOfRun(ctx, 11)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ds[1:2], got); diff != "" {
			t.Errorf("PromotionDecisionsOfRun(11) (-want +got):\n%s", diff)
		}
		got, err = s.PromotionDecisionsOfProject(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]lineage.Decision{ds[1], ds[0]}, got); diff != "" {
			t.Errorf("PromotionDecisionsOfProject(1) (-want +got):\n%s", diff)
		}
		got, _ = s.PromotionDecisionsOfProject(ctx, 1, 1)
		if len(got) != 1 || got[0].ID != ds[1].ID {
			t.Errorf("PromotionDecisionsOfProject(1, limit 1) = %+v", got)
		}
	})
}
