package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/search"
)

// fakeClock returns a clock that advances by one millisecond per call.
func fakeClock(start int64) func() time.Time {
	var n atomic.Int64
	n.Store(start)
	return func() time.Time { return time.UnixMilli(n.Add(1)) }
}

func mustRM(t *testing.T, s *Store, name string, tags ...registry.Tag) registry.RegisteredModel {
	t.Helper()
	rm, err := s.CreateRegisteredModel(context.Background(), name, tags, "")
	if err != nil {
		t.Fatal(err)
	}
	return rm
}

func mustMV(t *testing.T, s *Store, nv NewModelVersion) registry.ModelVersion {
	t.Helper()
	if nv.Source == "" {
		nv.Source = "path/to/source"
	}
	mv, err := s.CreateModelVersion(context.Background(), nv)
	if err != nil {
		t.Fatal(err)
	}
	return mv
}

func stageMap(mvs []registry.ModelVersion) map[registry.Stage]int64 {
	m := map[registry.Stage]int64{}
	for _, mv := range mvs {
		m[mv.CurrentStage] = mv.Version
	}
	return m
}

func versionsOf(mvs []registry.ModelVersion) []int64 {
	var out []int64
	for _, mv := range mvs {
		out = append(out, mv.Version)
	}
	return out
}

func TestRegistryRegisteredModels(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.SetClock(fakeClock(1000))
		rm, err := s.CreateRegisteredModel(ctx, "m1", []registry.Tag{{Key: "k", Value: "v"}, {Key: "a", Value: "1"}, {Key: "k", Value: "v2"}}, "desc")
		if err != nil {
			t.Fatal(err)
		}
		want := registry.RegisteredModel{Name: "m1", CreationTimestamp: rm.CreationTimestamp, LastUpdatedTimestamp: rm.CreationTimestamp,
			Description: "desc", Tags: []registry.Tag{{Key: "a", Value: "1"}, {Key: "k", Value: "v2"}}}
		if diff := cmp.Diff(want, rm); diff != "" {
			t.Fatalf("created (-want +got):\n%s", diff)
		}
		_, err = s.CreateRegisteredModel(ctx, "m1", nil, "")
		kindOf(t, err, posml.KindExists, "Registered Model (name=m1) already exists.")
		_, err = s.CreateRegisteredModel(ctx, "", nil, "")
		kindOf(t, err, posml.KindInvalid, "Registered model name cannot be empty.")
		_, err = s.CreateRegisteredModel(ctx, "bad", []registry.Tag{{Key: "k", Value: strings.Repeat("x", 5001)}}, "")
		kindOf(t, err, posml.KindInvalid, "Registered model value '")
		_, err = s.GetRegisteredModel(ctx, "nope")
		kindOf(t, err, posml.KindNotFound, "Registered Model with name=nope not found")

		mustMV(t, s, NewModelVersion{Name: "m1"})
		mustMV(t, s, NewModelVersion{Name: "m1"})
		rm, err = s.RenameRegisteredModel(ctx, "m1", "m2")
		if err != nil || rm.Name != "m2" || len(rm.LatestVersions) != 1 || rm.LatestVersions[0].Name != "m2" {
			t.Fatalf("rename = %+v, %v", rm, err)
		}
		if _, err := s.GetModelVersion(ctx, "m2", 1); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetRegisteredModel(ctx, "m1")
		kindOf(t, err, posml.KindNotFound, "Registered Model with name=m1 not found")
		mustRM(t, s, "m1")
		_, err = s.RenameRegisteredModel(ctx, "m2", "m1")
		kindOf(t, err, posml.KindExists, "Registered Model (name=m1) already exists.")
		_, err = s.RenameRegisteredModel(ctx, "m2", "")
		kindOf(t, err, posml.KindInvalid, "Registered model name cannot be empty.")
		_, err = s.RenameRegisteredModel(ctx, "zz", "yy")
		kindOf(t, err, posml.KindNotFound, "Registered Model with name=zz not found")

		rm, err = s.UpdateRegisteredModel(ctx, "m2", "new desc")
		if err != nil || rm.Description != "new desc" {
			t.Fatalf("update = %+v, %v", rm, err)
		}
		if err := s.SetRegisteredModelTag(ctx, "m2", registry.Tag{Key: "k", Value: "over"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRegisteredModelTag(ctx, "m2", registry.Tag{Key: "t", Value: ""}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRegisteredModelTag(ctx, "m2", "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRegisteredModelTag(ctx, "m2", "a"); err != nil {
			t.Fatalf("deleting a missing tag: %v", err)
		}
		rm, _ = s.GetRegisteredModel(ctx, "m2")
		if diff := cmp.Diff([]registry.Tag{{Key: "k", Value: "over"}, {Key: "t", Value: ""}}, rm.Tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		kindOf(t, s.SetRegisteredModelTag(ctx, "nope", registry.Tag{Key: "k"}), posml.KindNotFound, "Registered Model with name=nope not found")
		kindOf(t, s.DeleteRegisteredModelTag(ctx, "nope", "k"), posml.KindNotFound, "Registered Model with name=nope not found")
		kindOf(t, s.SetRegisteredModelTag(ctx, "m2", registry.Tag{Key: "../k"}), posml.KindInvalid, "Invalid tag name: '../k'")

		if err := s.DeleteRegisteredModel(ctx, "m2"); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetModelVersion(ctx, "m2", 1)
		kindOf(t, err, posml.KindNotFound, "Model Version (name=m2, version=1) not found")
		kindOf(t, s.DeleteRegisteredModel(ctx, "m2"), posml.KindNotFound, "Registered Model with name=m2 not found")
		// A new model of the same name starts again at version 1.
		mustRM(t, s, "m2")
		if mv := mustMV(t, s, NewModelVersion{Name: "m2"}); mv.Version != 1 {
			t.Fatalf("version after re-create = %d", mv.Version)
		}
	})
}

func TestRegistryLatestVersions(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		name := "test_for_latest_versions"
		rm := mustRM(t, s, name)
		if len(rm.LatestVersions) != 0 {
			t.Fatalf("latest = %v", rm.LatestVersions)
		}
		for i := 1; i <= 4; i++ {
			mustMV(t, s, NewModelVersion{Name: name})
		}
		for v, st := range map[int64]string{2: "Production", 3: "production", 4: "STAGING"} {
			if _, err := s.TransitionModelVersionStage(ctx, name, v, st, false); err != nil {
				t.Fatal(err)
			}
		}
		rm, _ = s.GetRegisteredModel(ctx, name)
		want := map[registry.Stage]int64{"None": 1, "Production": 3, "Staging": 4}
		if diff := cmp.Diff(want, stageMap(rm.LatestVersions)); diff != "" {
			t.Errorf("latest (-want +got):\n%s", diff)
		}
		// Stages in the order of their lowest version, as MLflow lists them.
		if got := versionsOf(rm.LatestVersions); !cmp.Equal(got, []int64{1, 3, 4}) {
			t.Errorf("latest order = %v", got)
		}
		for _, c := range []struct {
			stages []string
			want   map[registry.Stage]int64
		}{
			{nil, want},
			{[]string{}, want},
			{[]string{"Production"}, map[registry.Stage]int64{"Production": 3}},
			{[]string{"pROduction"}, map[registry.Stage]int64{"Production": 3}},
			{[]string{"None", "Production"}, map[registry.Stage]int64{"None": 1, "Production": 3}},
			{[]string{"Archived"}, map[registry.Stage]int64{}},
		} {
			got, err := s.GetLatestVersions(ctx, name, c.stages)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, stageMap(got)); diff != "" {
				t.Errorf("GetLatestVersions(%v) (-want +got):\n%s", c.stages, diff)
			}
		}
		if err := s.DeleteModelVersion(ctx, name, 3); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetLatestVersions(ctx, name, []string{"Production"})
		if diff := cmp.Diff(map[registry.Stage]int64{"Production": 2}, stageMap(got)); diff != "" {
			t.Errorf("after delete (-want +got):\n%s", diff)
		}
		_, err := s.GetLatestVersions(ctx, name, []string{"bogus"})
		kindOf(t, err, posml.KindInvalid, "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived.")
		_, err = s.GetLatestVersions(ctx, "nope", []string{"None"})
		kindOf(t, err, posml.KindNotFound, "Registered Model with name=nope not found")
	})
}

func TestRegistryModelVersions(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.SetClock(fakeClock(456778000))
		name := "test_for_MV"
		_, err := s.CreateModelVersion(ctx, NewModelVersion{Name: name, Source: "a"})
		kindOf(t, err, posml.KindNotFound, "Registered Model with name="+name+" not found")
		mustRM(t, s, name)
		mv := mustMV(t, s, NewModelVersion{Name: name, Source: "a/b/CD", RunID: "r1", RunLink: "http://x/run", Description: "d",
			Tags: []registry.Tag{{Key: "key", Value: "value"}, {Key: "anotherKey", Value: "x"}}})
		want := registry.ModelVersion{Name: name, Version: 1, CreationTimestamp: mv.CreationTimestamp, LastUpdatedTimestamp: mv.CreationTimestamp,
			Description: "d", CurrentStage: registry.StageNone, Source: "a/b/CD", RunID: "r1", RunLink: "http://x/run", Status: "READY",
			Tags: []registry.Tag{{Key: "anotherKey", Value: "x"}, {Key: "key", Value: "value"}}}
		if diff := cmp.Diff(want, mv); diff != "" {
			t.Fatalf("created (-want +got):\n%s", diff)
		}
		got, err := s.GetModelVersion(ctx, name, 1)
		if err != nil || !cmp.Equal(want, got) {
			t.Fatalf("get = %+v, %v", got, err)
		}
		rm, _ := s.GetRegisteredModel(ctx, name)
		if rm.LastUpdatedTimestamp != mv.CreationTimestamp {
			t.Errorf("model last update %d; want the version's creation %d", rm.LastUpdatedTimestamp, mv.CreationTimestamp)
		}
		for i := 2; i <= 3; i++ {
			if mv := mustMV(t, s, NewModelVersion{Name: name}); mv.Version != int64(i) {
				t.Fatalf("version = %d; want %d", mv.Version, i)
			}
		}
		// Soft delete: redacted, hidden, number never reused.
		if err := s.SetRegisteredModelAlias(ctx, name, "champ", 3); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteModelVersion(ctx, name, 3); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetModelVersion(ctx, name, 3)
		kindOf(t, err, posml.KindNotFound, "Model Version (name="+name+", version=3) not found")
		kindOf(t, s.DeleteModelVersion(ctx, name, 3), posml.KindNotFound, "Model Version (name="+name+", version=3) not found")
		_, err = s.UpdateModelVersion(ctx, name, 3, "x")
		kindOf(t, err, posml.KindNotFound, "not found")
		_, err = s.GetModelVersionByAlias(ctx, name, "champ")
		kindOf(t, err, posml.KindInvalid, "Registered model alias champ not found.")
		var src, run, link, stage string
		if err := s.readRow(ctx, `SELECT v.source, v.run_id, v.run_link, v.current_stage FROM model_versions v JOIN registered_models m ON m.id = v.model_id
			WHERE m.name = ? AND v.version = 3`, name).Scan(&src, &run, &link, &stage); err != nil {
			t.Fatal(err)
		}
		if src != "REDACTED-SOURCE-PATH" || run != "REDACTED-RUN-ID" || link != "REDACTED-RUN-LINK" || stage != "Deleted_Internal" {
			t.Errorf("deleted row = %q %q %q %q", src, run, link, stage)
		}
		if mv := mustMV(t, s, NewModelVersion{Name: name}); mv.Version != 4 {
			t.Fatalf("version after delete = %d; want 4", mv.Version)
		}
		if err := s.DeleteModelVersion(ctx, name, 4); err != nil {
			t.Fatal(err)
		}
		if mv := mustMV(t, s, NewModelVersion{Name: name}); mv.Version != 5 {
			t.Fatalf("version after deleting the highest = %d; want 5", mv.Version)
		}

		mv, err = s.UpdateModelVersion(ctx, name, 1, "updated")
		if err != nil || mv.Description != "updated" {
			t.Fatalf("update = %+v, %v", mv, err)
		}
		// Tags.
		if err := s.SetModelVersionTag(ctx, name, 1, registry.Tag{Key: "key", Value: "over"}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteModelVersionTag(ctx, name, 1, "anotherKey"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteModelVersionTag(ctx, name, 1, "anotherKey"); err != nil {
			t.Fatal(err)
		}
		mv, _ = s.GetModelVersion(ctx, name, 1)
		if diff := cmp.Diff([]registry.Tag{{Key: "key", Value: "over"}}, mv.Tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		kindOf(t, s.SetModelVersionTag(ctx, name, 3, registry.Tag{Key: "k"}), posml.KindNotFound, "Model Version (name="+name+", version=3) not found")
		kindOf(t, s.DeleteModelVersionTag(ctx, name, 3, "k"), posml.KindNotFound, "not found")
		kindOf(t, s.SetModelVersionTag(ctx, name, 1, registry.Tag{Key: "k", Value: strings.Repeat("a", 5001)}), posml.KindInvalid,
			"Model version value '")
	})
}

func TestRegistryTransitionStage(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		name := "model"
		mustRM(t, s, name)
		for range 3 {
			mustMV(t, s, NewModelVersion{Name: name})
		}
		stageOf := func(v int64) registry.Stage {
			mv, err := s.GetModelVersion(ctx, name, v)
			if err != nil {
				t.Fatal(err)
			}
			return mv.CurrentStage
		}
		for _, st := range []string{"Archived", "None"} {
			_, err := s.TransitionModelVersionStage(ctx, name, 1, st, true)
			kindOf(t, err, posml.KindInvalid, "Model version transition cannot archive existing model versions because '"+st+"' is not an Active stage. Valid stages are ['Staging', 'Production']")
			if _, err := s.TransitionModelVersionStage(ctx, name, 1, st, false); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.TransitionModelVersionStage(ctx, name, 1, "unknown", false)
		kindOf(t, err, posml.KindInvalid, "Invalid Model Version stage: unknown. Value must be one of None, Staging, Production, Archived.")
		_, err = s.TransitionModelVersionStage(ctx, name, 9, "Staging", true)
		kindOf(t, err, posml.KindNotFound, "Model Version (name=model, version=9) not found")

		mustStage := func(v int64, st string, archive bool) registry.ModelVersion {
			mv, err := s.TransitionModelVersionStage(ctx, name, v, st, archive)
			if err != nil {
				t.Fatal(err)
			}
			return mv
		}
		mustStage(1, "Staging", false)
		mustStage(2, "Production", false)
		mv3 := mustStage(3, "Staging", true)
		if stageOf(1) != "Archived" || stageOf(2) != "Production" || mv3.CurrentStage != "Staging" {
			t.Fatalf("stages = %s %s %s", stageOf(1), stageOf(2), mv3.CurrentStage)
		}
		mv1, _ := s.GetModelVersion(ctx, name, 1)
		if mv1.LastUpdatedTimestamp != mv3.LastUpdatedTimestamp {
			t.Errorf("archived version's update time %d; want %d", mv1.LastUpdatedTimestamp, mv3.LastUpdatedTimestamp)
		}
		mustStage(3, "Production", true)
		if stageOf(1) != "Archived" || stageOf(2) != "Archived" || stageOf(3) != "Production" {
			t.Fatalf("stages = %s %s %s", stageOf(1), stageOf(2), stageOf(3))
		}
		for _, st := range []string{"STAGING", "staging", "StAgInG"} {
			mustStage(1, "Staging", false)
			mustStage(2, "None", false)
			mustStage(2, st, true)
			if stageOf(1) != "Archived" || stageOf(2) != "Staging" {
				t.Fatalf("%s: stages = %s %s", st, stageOf(1), stageOf(2))
			}
		}
	})
}

func TestRegistryAliases(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		name := "aliased"
		mustRM(t, s, name)
		mustMV(t, s, NewModelVersion{Name: name})
		mustMV(t, s, NewModelVersion{Name: name})
		if err := s.SetRegisteredModelAlias(ctx, name, "test_alias", 2); err != nil {
			t.Fatal(err)
		}
		rm, _ := s.GetRegisteredModel(ctx, name)
		if diff := cmp.Diff([]registry.Alias{{Alias: "test_alias", Version: 2}}, rm.Aliases); diff != "" {
			t.Errorf("model aliases (-want +got):\n%s", diff)
		}
		mv1, _ := s.GetModelVersion(ctx, name, 1)
		mv2, _ := s.GetModelVersion(ctx, name, 2)
		if len(mv1.Aliases) != 0 || !cmp.Equal(mv2.Aliases, []string{"test_alias"}) {
			t.Errorf("version aliases = %v %v", mv1.Aliases, mv2.Aliases)
		}
		mv, err := s.GetModelVersionByAlias(ctx, name, "test_alias")
		if err != nil || mv.Version != 2 || !cmp.Equal(mv.Aliases, []string{"test_alias"}) {
			t.Fatalf("by alias = %+v, %v", mv, err)
		}
		// Overwrite.
		if err := s.SetRegisteredModelAlias(ctx, name, "test_alias", 1); err != nil {
			t.Fatal(err)
		}
		if mv, _ := s.GetModelVersionByAlias(ctx, name, "test_alias"); mv.Version != 1 {
			t.Fatalf("overwritten alias points at %d", mv.Version)
		}
		kindOf(t, s.SetRegisteredModelAlias(ctx, name, "x", 7), posml.KindNotFound, "Model Version (name=aliased, version=7) not found")
		kindOf(t, s.SetRegisteredModelAlias(ctx, name, "latest", 1), posml.KindInvalid, "'latest' alias name (case insensitive) is reserved.")
		kindOf(t, s.SetRegisteredModelAlias(ctx, name, "v3", 1), posml.KindInvalid, "Version alias name 'v3' is reserved.")
		_, err = s.GetModelVersionByAlias(ctx, name, "nope")
		kindOf(t, err, posml.KindInvalid, "Registered model alias nope not found.")
		_, err = s.GetModelVersionByAlias(ctx, "no-model", "nope")
		kindOf(t, err, posml.KindInvalid, "Registered model alias nope not found.")
		if err := s.DeleteRegisteredModelAlias(ctx, name, "test_alias"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRegisteredModelAlias(ctx, name, "test_alias"); err != nil {
			t.Fatalf("deleting a missing alias: %v", err)
		}
		kindOf(t, s.DeleteRegisteredModelAlias(ctx, "no-model", "a"), posml.KindNotFound, "Registered Model with name=no-model not found")
		rm, _ = s.GetRegisteredModel(ctx, name)
		if len(rm.Aliases) != 0 {
			t.Errorf("aliases after delete = %v", rm.Aliases)
		}
	})
}

func TestRegistrySearchModelVersions(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.SetClock(fakeClock(1))
		name := "test_for_search_MV"
		mustRM(t, s, name)
		r1, r2, r3 := newUUID(), newUUID(), newUUID()
		mustMV(t, s, NewModelVersion{Name: name, Source: "A/B", RunID: r1})
		mustMV(t, s, NewModelVersion{Name: name, Source: "A/C", RunID: r2, Tags: []registry.Tag{{Key: "t1", Value: "abc"}, {Key: "t2", Value: "x123"}}})
		mustMV(t, s, NewModelVersion{Name: name, Source: "A/D", RunID: r2, Tags: []registry.Tag{{Key: "t1", Value: "abc"}, {Key: "t2", Value: "xyz"}}})
		mustMV(t, s, NewModelVersion{Name: name, Source: "A/D", RunID: r3})
		find := func(filter string, order ...string) []int64 {
			t.Helper()
			cl, err := search.ParseModelVersionFilter(filter)
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			ob, err := search.ParseModelVersionOrderBy(order)
			if err != nil {
				t.Fatal(err)
			}
			mvs, _, err := s.SearchModelVersions(ctx, RegistryQuery{Filter: cl, OrderBy: ob, MaxResults: 100})
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			return versionsOf(mvs)
		}
		cases := []struct {
			filter string
			want   []int64
		}{
			{"name='" + name + "'", []int64{4, 3, 2, 1}},
			{"version_number=2", []int64{2}},
			{"version_number<=3", []int64{3, 2, 1}},
			{"version_number = '3'", []int64{3}},
			{"run_id='" + r1 + "'", []int64{1}},
			{"run_id='" + r2 + "'", []int64{3, 2}},
			{"run_id IN ('" + r1 + "','" + r2 + "')", []int64{3, 2, 1}},
			{"run_id IN ('" + strings.ToUpper(r1) + "','" + r2 + "')", []int64{3, 2}},
			{"run_id IN ('" + r1 + "', '" + r2 + "')", []int64{3, 2, 1}},
			{"run_id LIKE '" + r2[:30] + "%'", []int64{3, 2}},
			{"run_id ILIKE '" + strings.ToUpper(r2[:30]) + "%'", []int64{3, 2}},
			{"source_path = 'A/D'", []int64{4, 3}},
			{"source_path = 'A'", nil},
			{"source_path = 'A/'", nil},
			{"name = '" + name + "' and tag.t2 = 'xyz'", []int64{3}},
			{"name = 'wrong_name' and tag.t2 = 'xyz'", nil},
			{"tag.`t2` = 'xyz'", []int64{3}},
			{"tag.t3 = 'xyz'", nil},
			{"tag.t2 != 'xy'", []int64{3, 2}},
			{"tag.t2 LIKE 'xy%'", []int64{3}},
			{"tag.t2 LIKE 'xY%'", nil},
			{"tag.t2 ILIKE 'xY%'", []int64{3}},
			{"tag.T2 = 'xyz'", nil},
			{"tag.t1 = 'abc' and tag.t2 LIKE 'x%'", []int64{3, 2}},
			{"tag.t2 like 'x%' and tag.t2 != 'xyz'", []int64{2}},
			{"", []int64{4, 3, 2, 1}},
		}
		for _, c := range cases {
			if got := find(c.filter); !cmp.Equal(got, c.want) {
				t.Errorf("%q = %v; want %v", c.filter, got, c.want)
			}
		}
		if err := s.DeleteModelVersion(ctx, name, 4); err != nil {
			t.Fatal(err)
		}
		if got := find(""); !cmp.Equal(got, []int64{3, 2, 1}) {
			t.Errorf("after delete = %v", got)
		}
		if got := find("source_path = 'A/D'"); !cmp.Equal(got, []int64{3}) {
			t.Errorf("after delete, source = %v", got)
		}
		// Prompts are hidden unless asked for.
		mustRM(t, s, "prompt")
		mustMV(t, s, NewModelVersion{Name: "prompt", Tags: []registry.Tag{{Key: registry.TagIsPrompt, Value: "true"}}})
		if got := find(""); len(got) != 3 {
			t.Errorf("prompt versions shown: %v", got)
		}
		if got := find("tags.`mlflow.prompt.is_prompt` = 'true'"); !cmp.Equal(got, []int64{1}) {
			t.Errorf("prompt query = %v", got)
		}
		if got := find("tags.`mlflow.prompt.is_prompt` = 'false'"); len(got) != 3 {
			t.Errorf("non-prompt query = %v", got)
		}
		if _, _, err := s.SearchModelVersions(ctx, RegistryQuery{MaxResults: 0}); err == nil {
			t.Error("max_results 0 accepted")
		}
		_, _, err := s.SearchModelVersions(ctx, RegistryQuery{MaxResults: 200001})
		kindOf(t, err, posml.KindInvalid, "It must be at most 200000, but got value 200001")
	})
}

func TestRegistrySearchModelVersionsOrder(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.SetClock(fakeClock(1))
		names := []string{"RM1", "RM2", "RM3", "RM4", "RM1", "RM4"}
		for _, n := range []string{"RM1", "RM2", "RM3", "RM4"} {
			mustRM(t, s, n)
		}
		for i, n := range names {
			mustMV(t, s, NewModelVersion{Name: n, Source: string(rune('A' + i/3))})
		}
		search1 := func(order ...string) ([]string, []int64) {
			ob, err := search.ParseModelVersionOrderBy(order)
			if err != nil {
				t.Fatal(err)
			}
			mvs, _, err := s.SearchModelVersions(ctx, RegistryQuery{OrderBy: ob, MaxResults: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ns []string
			for _, mv := range mvs {
				ns = append(ns, mv.Name)
			}
			return ns, versionsOf(mvs)
		}
		ns, vs := search1()
		if !cmp.Equal(ns, []string{"RM4", "RM1", "RM4", "RM3", "RM2", "RM1"}) || !cmp.Equal(vs, []int64{2, 2, 1, 1, 1, 1}) {
			t.Errorf("default = %v %v", ns, vs)
		}
		ns, vs = search1("name DESC")
		if !cmp.Equal(ns, []string{"RM4", "RM4", "RM3", "RM2", "RM1", "RM1"}) || !cmp.Equal(vs, []int64{2, 1, 1, 1, 2, 1}) {
			t.Errorf("name DESC = %v %v", ns, vs)
		}
		ns, vs = search1("version_number DESC")
		if !cmp.Equal(ns, []string{"RM1", "RM4", "RM1", "RM2", "RM3", "RM4"}) || !cmp.Equal(vs, []int64{2, 2, 1, 1, 1, 1}) {
			t.Errorf("version DESC = %v %v", ns, vs)
		}
		ns, _ = search1("creation_timestamp DESC")
		if !cmp.Equal(ns, []string{"RM4", "RM1", "RM4", "RM3", "RM2", "RM1"}) {
			t.Errorf("creation DESC = %v", ns)
		}
		if _, err := s.UpdateModelVersion(ctx, "RM1", 1, "latest updated"); err != nil {
			t.Fatal(err)
		}
		ns, vs = search1("last_updated_timestamp ASC")
		if ns[5] != "RM1" || vs[5] != 1 {
			t.Errorf("last updated ASC ends with %s %d", ns[5], vs[5])
		}

		// Paging through 50 versions in steps of 5.
		mustRM(t, s, "paged")
		for range 50 {
			mustMV(t, s, NewModelVersion{Name: "paged"})
		}
		cl, _ := search.ParseModelVersionFilter("name LIKE 'paged%'")
		var got []int64
		q := RegistryQuery{Filter: cl, MaxResults: 5}
		for {
			mvs, more, err := s.SearchModelVersions(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, versionsOf(mvs)...)
			if !more {
				break
			}
			q.Offset += q.MaxResults
		}
		if len(got) != 50 || got[0] != 50 || got[49] != 1 {
			t.Fatalf("paged = %v", got)
		}
	})
}

func TestRegistrySearchRegisteredModels(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		prefix := "test_for_search_"
		var names []string
		for _, n := range []string{"RM1", "RM2", "RM3", "RM4", "RM4A", "RM4ab"} {
			names = append(names, prefix+n)
			mustRM(t, s, prefix+n)
		}
		find := func(filter string, order ...string) []string {
			t.Helper()
			cl, err := search.ParseRegisteredModelFilter(filter)
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			ob, err := search.ParseRegisteredModelOrderBy(order)
			if err != nil {
				t.Fatal(err)
			}
			rms, _, err := s.SearchRegisteredModels(ctx, RegistryQuery{Filter: cl, OrderBy: ob, MaxResults: 100})
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			var out []string
			for _, rm := range rms {
				out = append(out, rm.Name)
			}
			return out
		}
		cases := []struct {
			filter string
			want   []string
		}{
			{"", names},
			{"name='" + names[0] + "'", names[:1]},
			{"name='" + names[0] + "cats'", nil},
			{"name LIKE '" + prefix + "%'", names},
			{"name LIKE '%RM%'", names},
			{"name LIKE '_e%'", names},
			{"name LIKE '" + prefix + "RM4A%'", names[4:5]},
			{"name lIkE '%blah%'", nil},
			{"name ILIKE '" + prefix + "RM4A%'", names[4:]},
			{"name ILIKE '%RM4a%'", names[4:]},
			{"name iLike '%%'", names},
			{"name != '" + names[0] + "'", names[1:]},
		}
		for _, c := range cases {
			if got := find(c.filter); !cmp.Equal(got, c.want) {
				t.Errorf("%q = %v; want %v", c.filter, got, c.want)
			}
		}
		if err := s.DeleteRegisteredModel(ctx, names[5]); err != nil {
			t.Fatal(err)
		}
		if got := find("name LIKE '" + prefix + "%'"); !cmp.Equal(got, names[:5]) {
			t.Errorf("after delete = %v", got)
		}

		// Tags.
		mustRM(t, s, "tag1", registry.Tag{Key: "t1", Value: "abc"}, registry.Tag{Key: "t2", Value: "xyz"})
		mustRM(t, s, "tag2", registry.Tag{Key: "t1", Value: "abcd"}, registry.Tag{Key: "t2", Value: "xyz123"}, registry.Tag{Key: "t3", Value: "XYZ"})
		for f, want := range map[string][]string{
			"tag.t3 = 'XYZ'":                          {"tag2"},
			"name = 'tag1' and tag.t1 = 'abc'":        {"tag1"},
			"tag.t1 LIKE 'ab%'":                       {"tag1", "tag2"},
			"tag.t1 ILIKE 'aB%'":                      {"tag1", "tag2"},
			"tag.t1 LIKE 'ab%' AND tag.t2 LIKE 'xy%'": {"tag1", "tag2"},
			"tag.t3 = 'XYz'":                          nil,
			"tag.T3 = 'XYZ'":                          nil,
			"tag.t1 != 'abc'":                         {"tag2"},
			"tag.t1 != 'abcd' and tag.t1 LIKE 'ab%'":  {"tag1"},
			"tags.`mlflow.prompt.is_prompt` = 'true'": nil,
			"tags.`mlflow.prompt.is_prompt` != 'true' and name LIKE 'tag%'": {"tag1", "tag2"},
		} {
			if got := find(f); !cmp.Equal(got, want) {
				t.Errorf("%q = %v; want %v", f, got, want)
			}
		}
		mustRM(t, s, "a-prompt", registry.Tag{Key: registry.TagIsPrompt, Value: "true"})
		if got := find("name LIKE 'a-%'"); len(got) != 0 {
			t.Errorf("prompt shown: %v", got)
		}
		if got := find("tags.`mlflow.prompt.is_prompt` = 'TRUE'"); len(got) != 0 {
			t.Errorf("prompt tag compared without case: %v", got)
		}
		if got := find("tags.`mlflow.prompt.is_prompt` = 'true'"); !cmp.Equal(got, []string{"a-prompt"}) {
			t.Errorf("prompt query = %v", got)
		}
		_, _, err := s.SearchRegisteredModels(ctx, RegistryQuery{MaxResults: 1001})
		kindOf(t, err, posml.KindInvalid, "Invalid value for request parameter max_results. It must be at most 1000, but got value 1001")
	})
}

func TestRegistrySearchRegisteredModelsOrder(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var rms []string
		for i := range 50 {
			s.SetClock(func() time.Time { return time.UnixMilli(int64(i)) })
			rms = append(rms, mustRM(t, s, fmt.Sprintf("RM%03d", i)).Name)
		}
		page := func(order []string, size int) []string {
			t.Helper()
			cl, _ := search.ParseRegisteredModelFilter("name LIKE 'RM%'")
			ob, err := search.ParseRegisteredModelOrderBy(order)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			q := RegistryQuery{Filter: cl, OrderBy: ob, MaxResults: size}
			for {
				got, more, err := s.SearchRegisteredModels(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, rm := range got {
					out = append(out, rm.Name)
				}
				if !more {
					return out
				}
				q.Offset += size
			}
		}
		rev := append([]string(nil), rms...)
		sort.Sort(sort.Reverse(sort.StringSlice(rev)))
		for _, c := range []struct {
			order []string
			want  []string
		}{
			{nil, rms},
			{[]string{"name DESC"}, rev},
			{[]string{"last_updated_timestamp DESC"}, rev},
			{[]string{"timestamp DESC"}, rev},
			{[]string{"timestamp"}, rms},
			{[]string{"last_updated_timestamp ASC"}, rms},
			{[]string{"creation_timestamp DESC"}, rev},
		} {
			if got := page(c.order, 7); !cmp.Equal(got, c.want) {
				t.Errorf("order %v = %v", c.order, got)
			}
		}
		s.SetClock(func() time.Time { return time.UnixMilli(1) })
		mustRM(t, s, "MR1")
		mustRM(t, s, "MR2")
		s.SetClock(func() time.Time { return time.UnixMilli(2) })
		mustRM(t, s, "MR3")
		mustRM(t, s, "MR4")
		cl, _ := search.ParseRegisteredModelFilter("name LIKE 'MR%'")
		for _, c := range []struct {
			order []string
			want  []string
		}{
			{[]string{"last_updated_timestamp ASC", "name DESC"}, []string{"MR2", "MR1", "MR4", "MR3"}},
			{[]string{}, []string{"MR1", "MR2", "MR3", "MR4"}},
			{[]string{"last_updated_timestamp DESC"}, []string{"MR3", "MR4", "MR1", "MR2"}},
		} {
			ob, _ := search.ParseRegisteredModelOrderBy(c.order)
			got, _, err := s.SearchRegisteredModels(ctx, RegistryQuery{Filter: cl, OrderBy: ob, MaxResults: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ns []string
			for _, rm := range got {
				ns = append(ns, rm.Name)
			}
			if !cmp.Equal(ns, c.want) {
				t.Errorf("order %v = %v; want %v", c.order, ns, c.want)
			}
		}
	})
}

func TestRegistryDownloadURI(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		run, err := s.CreateRun(ctx, NewRun{ExperimentID: "0"})
		if err != nil {
			t.Fatal(err)
		}
		runID := run.Info.RunID
		lm, err := s.CreateLoggedModel(ctx, NewLoggedModel{ExperimentID: "0", Name: "m", SourceRunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		mustRM(t, s, "dl")
		for _, c := range []struct {
			nv       NewModelVersion
			uri      string
			run, mdl string
		}{
			{NewModelVersion{Source: "runs:/" + runID + "/models", RunID: runID}, run.Info.ArtifactURI + "/models", runID, ""},
			{NewModelVersion{Source: "mlflow-artifacts:/0/" + runID + "/artifacts/models"}, "mlflow-artifacts:/0/" + runID + "/artifacts/models", "", ""},
			{NewModelVersion{Source: "models:/" + lm.ModelID, ModelID: lm.ModelID}, lm.ArtifactURI, runID, lm.ModelID},
			{NewModelVersion{Source: "models:/" + lm.ModelID}, lm.ArtifactURI, runID, lm.ModelID},
			{NewModelVersion{Source: "models:/dl/1"}, run.Info.ArtifactURI + "/models", "", ""},
			{NewModelVersion{Source: "runs:/nosuchrun/x"}, "runs:/nosuchrun/x", "", ""},
		} {
			c.nv.Name = "dl"
			mv := mustMV(t, s, c.nv)
			if mv.RunID != c.run || mv.ModelID != c.mdl || mv.Source != c.nv.Source {
				t.Errorf("%s: version = %+v", c.nv.Source, mv)
			}
			uri, err := s.GetModelVersionDownloadURI(ctx, "dl", mv.Version)
			if err != nil || uri != c.uri {
				t.Errorf("%s: download URI = %q, %v; want %q", c.nv.Source, uri, err, c.uri)
			}
		}
		got, _ := s.GetLoggedModel(ctx, lm.ModelID, false)
		for _, tg := range got.Tags {
			if tg.Key == registry.TagModelVersions && tg.Value != `[{"name": "dl", "version": 3}, {"name": "dl", "version": 4}]` {
				t.Errorf("%s = %s", tg.Key, tg.Value)
			}
		}
		for _, bad := range []string{"models:/m-missing", "models:/dl/99", "models:/dl@champ", "models:/dl/Production", "models:/a/b/c"} {
			_, err := s.CreateModelVersion(ctx, NewModelVersion{Name: "dl", Source: bad})
			kindOf(t, err, posml.KindInvalid, bad)
		}
		_, err = s.GetModelVersionDownloadURI(ctx, "dl", 99)
		kindOf(t, err, posml.KindNotFound, "Model Version (name=dl, version=99) not found")
	})
}

func TestRegistryConcurrentVersions(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustRM(t, s, "busy")
		const writers, each = 8, 6
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		got := make(chan int64, writers*each)
		for range writers {
			wg.Go(func() {
				for range each {
					mv, err := s.CreateModelVersion(ctx, NewModelVersion{Name: "busy", Source: "s3://b/m"})
					if err != nil {
						errs <- err
						return
					}
					got <- mv.Version
				}
			})
		}
		wg.Wait()
		close(errs)
		close(got)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for v := range got {
			if seen[v] {
				t.Fatalf("version %d handed out twice", v)
			}
			seen[v] = true
		}
		for v := int64(1); v <= writers*each; v++ {
			if !seen[v] {
				t.Fatalf("version %d missing", v)
			}
		}
	})
}

func TestRegistryEvents(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := registry.WithActor(context.Background(), registry.Actor{UserID: "alice"})
		pipe := registry.WithActor(context.Background(), registry.Actor{PipelineRunID: "pr-7"})
		if _, err := s.CreateRegisteredModel(ctx, "ev", nil, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateModelVersion(pipe, NewModelVersion{Name: "ev", Source: "s3://b/m", RunID: "r"}); err != nil {
			t.Fatal(err)
		}
		mustMV(t, s, NewModelVersion{Name: "ev"})
		steps := []func() error{
			func() error { return s.SetRegisteredModelAlias(pipe, "ev", "champion", 1) },
			func() error { return s.SetRegisteredModelAlias(pipe, "ev", "champion", 2) },
			func() error { _, err := s.TransitionModelVersionStage(ctx, "ev", 1, "production", false); return err },
			func() error { _, err := s.TransitionModelVersionStage(ctx, "ev", 2, "Production", true); return err },
			func() error { return s.SetModelVersionTag(ctx, "ev", 2, registry.Tag{Key: "k", Value: "v"}) },
			func() error { return s.DeleteModelVersionTag(ctx, "ev", 2, "k") },
			func() error { return s.DeleteModelVersionTag(ctx, "ev", 2, "k") }, // no change, no event
			func() error { _, err := s.UpdateModelVersion(ctx, "ev", 2, "d"); return err },
			func() error { return s.SetRegisteredModelTag(ctx, "ev", registry.Tag{Key: "k", Value: "v"}) },
			func() error { return s.DeleteRegisteredModelTag(ctx, "ev", "k") },
			func() error { _, err := s.UpdateRegisteredModel(ctx, "ev", "md"); return err },
			func() error { return s.DeleteRegisteredModelAlias(ctx, "ev", "champion") },
			func() error { return s.DeleteModelVersion(ctx, "ev", 1) },
			func() error { _, err := s.RenameRegisteredModel(ctx, "ev", "ev2"); return err },
		}
		for i, f := range steps {
			if err := f(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		evs, err := s.RegistryEvents(ctx, "ev2", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			Name    string
			Version int64
			Action  registry.Action
			Actor   string
		}
		var got []row
		for _, e := range evs {
			got = append(got, row{e.ModelName, e.Version, e.Action, e.Actor.String()})
		}
		want := []row{
			{"ev", 0, registry.ActionModelCreated, "user:alice"},
			{"ev", 1, registry.ActionVersionCreated, "pipeline-run:pr-7"},
			{"ev", 2, registry.ActionVersionCreated, "anonymous"},
			{"ev", 1, registry.ActionAliasSet, "pipeline-run:pr-7"},
			{"ev", 2, registry.ActionAliasSet, "pipeline-run:pr-7"},
			{"ev", 1, registry.ActionVersionStage, "user:alice"},
			{"ev", 1, registry.ActionVersionStage, "user:alice"}, // archived by version 2
			{"ev", 2, registry.ActionVersionStage, "user:alice"},
			{"ev", 2, registry.ActionVersionTagSet, "user:alice"},
			{"ev", 2, registry.ActionVersionTagDeleted, "user:alice"},
			{"ev", 2, registry.ActionVersionUpdated, "user:alice"},
			{"ev", 0, registry.ActionModelTagSet, "user:alice"},
			{"ev", 0, registry.ActionModelTagDeleted, "user:alice"},
			{"ev", 0, registry.ActionModelUpdated, "user:alice"},
			{"ev", 2, registry.ActionAliasDeleted, "user:alice"},
			{"ev", 1, registry.ActionVersionDeleted, "user:alice"},
			{"ev2", 0, registry.ActionModelRenamed, "user:alice"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		if d := evs[4].Details; d["alias"] != "champion" || d["previous_version"] != float64(1) {
			t.Errorf("alias details = %v", d)
		}
		if d := evs[7].Details; d["from"] != "None" || d["to"] != "Production" || fmt.Sprint(d["archived_versions"]) != "[1]" {
			t.Errorf("stage details = %v", d)
		}
		if d := evs[16].Details; d["from"] != "ev" || d["to"] != "ev2" {
			t.Errorf("rename details = %v", d)
		}
		page, err := s.RegistryEvents(ctx, "ev2", 2, 1)
		if err != nil || len(page) != 2 || page[0].ID != evs[1].ID {
			t.Fatalf("page = %v, %v", page, err)
		}
		// History outlives the model.
		if err := s.DeleteRegisteredModel(ctx, "ev2"); err != nil {
			t.Fatal(err)
		}
		evs, err = s.RegistryEvents(ctx, "ev2", 0, 0)
		if err != nil || len(evs) != 2 || evs[1].Action != registry.ActionModelDeleted {
			t.Fatalf("events of deleted model = %v, %v", evs, err)
		}
		_, err = s.RegistryEvents(ctx, "never", 0, 0)
		kindOf(t, err, posml.KindNotFound, "Registered Model with name=never not found")
	})
}
