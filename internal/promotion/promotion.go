package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/lineage"
	"github.com/posml/posml/internal/notify"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

// Store is what promotion reads and writes (*sqlstore.Store).
type Store interface {
	Project(ctx context.Context, id pipeline.ProjectID) (pipeline.Project, error)
	Commit(ctx context.Context, id pipeline.ProjectID, sha string) (pipeline.Commit, error)
	RunOutputs(ctx context.Context, id pipeline.RunID) ([]pipeline.Output, error)
	AddRunOutput(ctx context.Context, o pipeline.Output) error

	GetRun(ctx context.Context, runID string) (tracking.Run, error)
	GetLoggedModel(ctx context.Context, id string, allowDeleted bool) (tracking.LoggedModel, error)

	GetRegisteredModel(ctx context.Context, name string) (registry.RegisteredModel, error)
	CreateRegisteredModel(ctx context.Context, name string, tags []registry.Tag, description string) (registry.RegisteredModel, error)
	GetModelVersion(ctx context.Context, name string, version int64) (registry.ModelVersion, error)
	CreateModelVersion(ctx context.Context, nv sqlstore.NewModelVersion) (registry.ModelVersion, error)
	GetModelVersionByAlias(ctx context.Context, name, alias string) (registry.ModelVersion, error)
	GetLatestVersions(ctx context.Context, name string, stages []string) ([]registry.ModelVersion, error)
	SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error

	AddPromotionDecision(ctx context.Context, d lineage.Decision) (lineage.Decision, error)
	PromotionDecisionsOfRun(ctx context.Context, run pipeline.RunID) ([]lineage.Decision, error)
}

var _ Store = (*sqlstore.Store)(nil)

// Notifier delivers promotion and hold events (*notify.Notifier); it must
// not block.
type Notifier interface {
	Notify(ctx context.Context, ev notify.Event)
}

// Settings are what promotion needs of a project's config.
type Settings struct {
	ModelNames    []string
	RegisterModel string
	TargetMetric  string
	Direction     string // "maximize" or "minimize"
	// AutoAlias (mlflow.auto_alias) moves champion to a version the
	// train script registered itself.
	AutoAlias bool
}

// SettingsOf takes promotion's settings from a commit's.
func SettingsOf(s pipeline.Settings) Settings {
	return Settings{ModelNames: s.ModelNames, RegisterModel: s.RegisterModel, TargetMetric: s.TargetMetric, Direction: s.Direction, AutoAlias: s.AutoAlias}
}

// Promoter makes promotion decisions.
type Promoter struct {
	store  Store
	notify Notifier // nil: no notifications
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Promoter; n and log may be nil.
func New(store Store, n Notifier, log *slog.Logger) *Promoter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Promoter{store: store, notify: n, log: log, now: time.Now}
}

// Promote decides for each registered model of a succeeded train run's
// project, with the settings of the run's commit. A run already decided is
// left alone, so calling Promote again (after a restart) changes nothing.
func (p *Promoter) Promote(ctx context.Context, run pipeline.Run) error {
	c, err := p.store.Commit(ctx, run.ProjectID, run.Commit)
	if err != nil {
		return fmt.Errorf("promote run %s: %w", run.ID, err)
	}
	if run.Project == "" {
		pr, err := p.store.Project(ctx, run.ProjectID)
		if err != nil {
			return fmt.Errorf("promote run %s: %w", run.ID, err)
		}
		run.Project = pr.Name
	}
	_, err = p.Decide(ctx, run, SettingsOf(c.Settings))
	return err
}

// Decide makes and stores the decisions of one run and returns them.
func (p *Promoter) Decide(ctx context.Context, run pipeline.Run, s Settings) ([]lineage.Decision, error) {
	done, err := p.store.PromotionDecisionsOfRun(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("promote run %s: %w", run.ID, err)
	}
	if len(done) > 0 {
		return done, nil
	}
	// Registry changes are the pipeline run's.
	ctx = registry.WithActor(ctx, registry.Actor{PipelineRunID: run.ID.String()})
	outs, err := p.store.RunOutputs(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("promote run %s: %w", run.ID, err)
	}
	cands, err := p.candidates(ctx, outs, s.TargetMetric)
	if err != nil {
		return nil, fmt.Errorf("promote run %s: %w", run.ID, err)
	}
	models := modelsOf(s)
	var out []lineage.Decision
	for _, m := range models {
		d := lineage.Decision{ProjectID: run.ProjectID, PipelineRunID: run.ID, ModelName: m,
			Metric: s.TargetMetric, Direction: s.Direction}
		if err := p.decide(ctx, run, s, &d, outs, belongTo(m, cands, len(models) == 1)); err != nil {
			return out, fmt.Errorf("promote run %s, model %s: %w", run.ID, m, err)
		}
		d, err := p.store.AddPromotionDecision(ctx, d)
		if err != nil {
			return out, fmt.Errorf("promote run %s, model %s: %w", run.ID, m, err)
		}
		p.log.InfoContext(ctx, "promotion decision", "pipeline_run_id", run.ID.String(), "model", m,
			"outcome", string(d.Outcome), "reason", d.Reason)
		p.notifyDecision(ctx, run, d)
		out = append(out, d)
	}
	return out, nil
}

// modelsOf lists the registered models a project names: its model names,
// or, for a single model, mlflow.register_model.
func modelsOf(s Settings) []string {
	if len(s.ModelNames) > 1 {
		var out []string
		for _, m := range s.ModelNames {
			if m != "" && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
		return out
	}
	if s.RegisterModel != "" {
		return []string{s.RegisterModel}
	}
	return s.ModelNames
}

// candidate is an MLflow run of the pipeline run that logged a model.
type candidate struct {
	run   tracking.Run
	value *float64 // nil: the run lacks the metric
	// models are the models the run logged, last first.
	models []loggedModel
}

type loggedModel struct {
	artifactPath string // "" for an MLflow 3 logged model
	modelID      string
	name         string // MLflow 3 logged model name
}

// source is what a version registered from the model points at.
func (lm loggedModel) source(run tracking.Run) string {
	if lm.modelID != "" {
		return "models:/" + lm.modelID
	}
	return strings.TrimSuffix(run.Info.ArtifactURI, "/") + "/" + lm.artifactPath
}

// candidates loads the MLflow runs among outs that logged a model.
func (p *Promoter) candidates(ctx context.Context, outs []pipeline.Output, metric string) ([]candidate, error) {
	var out []candidate
	seen := map[string]bool{}
	for _, o := range outs {
		if o.ModelName != "" || o.MLflowRunID == "" || seen[o.MLflowRunID] {
			continue
		}
		seen[o.MLflowRunID] = true
		r, err := p.store.GetRun(ctx, o.MLflowRunID)
		if posml.KindOf(err) == posml.KindNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.Info.LifecycleStage == tracking.StageDeleted {
			continue
		}
		c := candidate{run: r, value: metricOf(r, metric)}
		for _, t := range r.Tags {
			if t.Key != tracking.TagLoggedModels {
				continue
			}
			var hist []struct {
				ArtifactPath string `json:"artifact_path"`
			}
			if json.Unmarshal([]byte(t.Value), &hist) == nil {
				for i := len(hist) - 1; i >= 0; i-- {
					if hist[i].ArtifactPath != "" {
						c.models = append(c.models, loggedModel{artifactPath: hist[i].ArtifactPath})
					}
				}
			}
		}
		for i := len(r.ModelOutputs) - 1; i >= 0; i-- {
			lm := loggedModel{modelID: r.ModelOutputs[i].ModelID}
			if m, err := p.store.GetLoggedModel(ctx, lm.modelID, false); err == nil {
				lm.name = m.Name
			}
			c.models = append(c.models, lm)
		}
		if len(c.models) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

func metricOf(r tracking.Run, key string) *float64 {
	for _, m := range r.Metrics {
		if m.Key == key && !math.IsNaN(m.Value) {
			v := m.Value
			return &v
		}
	}
	return nil
}

// belongTo returns the candidates of model m, each with the logged model
// to register first: in a single-model project every candidate and its
// last logged model; else those tagged posml.model = m, or that logged a
// model named m or at artifact path m.
func belongTo(m string, cands []candidate, single bool) []candidate {
	var out []candidate
	for _, c := range cands {
		if single {
			out = append(out, c)
			continue
		}
		tagged := false
		for _, t := range c.run.Tags {
			if t.Key == lineage.TagModel && t.Value == m {
				tagged = true
			}
		}
		if tagged {
			out = append(out, c)
			continue
		}
		for _, lm := range c.models {
			if lm.name == m || lm.artifactPath == m {
				c.models = []loggedModel{lm}
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// better reports whether a beats b in direction dir.
func better(a, b float64, dir string) bool {
	if dir == "minimize" {
		return a < b
	}
	return a > b
}

// decide fills in d for one registered model.
func (p *Promoter) decide(ctx context.Context, run pipeline.Run, s Settings, d *lineage.Decision, outs []pipeline.Output, cands []candidate) error {
	champ, hasChamp, err := p.champion(ctx, d)
	if err != nil {
		return err
	}
	// Versions the script registered itself: record them.
	var own []int64
	for _, o := range outs {
		if o.ModelName == d.ModelName && o.ModelVersion > 0 {
			own = append(own, int64(o.ModelVersion))
		}
	}
	if len(own) > 0 {
		return p.recordOwn(ctx, s, d, champ, hasChamp, slices.Max(own))
	}

	var best *candidate
	for i := range cands {
		c := &cands[i]
		if c.value != nil && (best == nil || better(*c.value, *best.value, s.Direction)) {
			best = c
		}
	}
	switch {
	case len(cands) == 0:
		d.Outcome, d.Reason = lineage.Held, "no MLflow run of this pipeline run logged a model for "+d.ModelName+
			" (log one with mlflow.<flavor>.log_model, i.e. runs/log-model or a logged model)"
		return nil
	case best == nil:
		d.CandidateRunID = cands[0].run.Info.RunID
		d.Outcome = lineage.Held
		d.Reason = fmt.Sprintf("no candidate run logged the metric %s (%d candidate(s))", s.TargetMetric, len(cands))
		return nil
	}
	d.CandidateRunID, d.CandidateValue = best.run.Info.RunID, best.value
	dirWord := map[bool]string{true: "lower", false: "higher"}[s.Direction == "minimize"]
	// Without a champion alias, the newest version stands in for it: a
	// version the script registered in an earlier run is not beaten by
	// an equal model.
	what := "champion"
	if !hasChamp {
		what = "the newest version (no champion alias)"
	}
	op := map[bool]string{true: "<", false: ">"}[s.Direction == "minimize"]
	switch {
	case d.ChampionVersion == 0:
		d.Reason = "first version: no champion yet"
	case d.ChampionValue == nil:
		d.Reason = fmt.Sprintf("%s, version %d, has no %s; the candidate replaces it", what, d.ChampionVersion, s.TargetMetric)
	case better(*d.CandidateValue, *d.ChampionValue, s.Direction):
		d.Reason = fmt.Sprintf("%s %s %s %s of %s, version %d (%s is better)", s.TargetMetric, fmtFloat(*d.CandidateValue), op,
			fmtFloat(*d.ChampionValue), what, d.ChampionVersion, dirWord)
	default:
		d.Outcome = lineage.Held
		d.Reason = fmt.Sprintf("%s %s does not beat %s of %s, version %d (%s is better)", s.TargetMetric,
			fmtFloat(*d.CandidateValue), fmtFloat(*d.ChampionValue), what, d.ChampionVersion, dirWord)
		return nil
	}
	mv, err := p.register(ctx, run, d.ModelName, *best)
	if err != nil {
		return err
	}
	d.Outcome, d.NewVersion = lineage.Registered, mv.Version
	return p.moveChampion(ctx, d, champ, hasChamp)
}

// champion loads the version the champion alias names, or else the newest
// version, into d with its metric value; aliased tells which. With no
// version at all, d.ChampionVersion stays 0.
func (p *Promoter) champion(ctx context.Context, d *lineage.Decision) (mv registry.ModelVersion, aliased bool, err error) {
	mv, err = p.store.GetModelVersionByAlias(ctx, d.ModelName, lineage.AliasChampion)
	aliased = err == nil
	if k := posml.KindOf(err); err != nil && (k == posml.KindInvalid || k == posml.KindNotFound) {
		latest, err := p.store.GetLatestVersions(ctx, d.ModelName, nil)
		if err != nil && posml.KindOf(err) != posml.KindNotFound {
			return mv, false, err
		}
		if len(latest) == 0 {
			return mv, false, nil
		}
		mv = latest[0]
		for _, v := range latest {
			if v.Version > mv.Version {
				mv = v
			}
		}
	} else if err != nil {
		return mv, false, err
	}
	d.ChampionVersion, d.ChampionRunID = mv.Version, mv.RunID
	if mv.RunID != "" {
		r, err := p.store.GetRun(ctx, mv.RunID)
		switch {
		case err == nil:
			d.ChampionValue = metricOf(r, d.Metric)
		case posml.KindOf(err) != posml.KindNotFound:
			return mv, aliased, err
		}
	}
	return mv, aliased, nil
}

// recordOwn records a version the script registered and moves the champion
// to it when mlflow.auto_alias asks.
func (p *Promoter) recordOwn(ctx context.Context, s Settings, d *lineage.Decision, champ registry.ModelVersion, hasChamp bool, version int64) error {
	d.Outcome, d.NewVersion = lineage.Recorded, version
	if !hasChamp { // the newest version is not a champion to report
		d.ChampionVersion, d.ChampionRunID, d.ChampionValue = 0, "", nil
	}
	if mv, err := p.store.GetModelVersion(ctx, d.ModelName, version); err == nil && mv.RunID != "" {
		d.CandidateRunID = mv.RunID
		if r, err := p.store.GetRun(ctx, mv.RunID); err == nil {
			d.CandidateValue = metricOf(r, d.Metric)
		}
	}
	if hasChamp && champ.Version == version {
		d.Reason = fmt.Sprintf("the train script registered version %d itself; it is already the champion", version)
		return nil
	}
	if !s.AutoAlias {
		d.Reason = fmt.Sprintf("the train script registered version %d itself; champion unchanged (set mlflow.auto_alias: true to move it)", version)
		return nil
	}
	d.Reason = fmt.Sprintf("the train script registered version %d itself; champion moved (mlflow.auto_alias)", version)
	return p.moveChampion(ctx, d, champ, hasChamp)
}

// register registers a candidate's model as a new version of model name.
func (p *Promoter) register(ctx context.Context, run pipeline.Run, name string, c candidate) (registry.ModelVersion, error) {
	if _, err := p.store.GetRegisteredModel(ctx, name); posml.KindOf(err) == posml.KindNotFound {
		if _, err := p.store.CreateRegisteredModel(ctx, name, nil, ""); err != nil && posml.KindOf(err) != posml.KindExists {
			return registry.ModelVersion{}, err
		}
	} else if err != nil {
		return registry.ModelVersion{}, err
	}
	lm := c.models[0]
	mv, err := p.store.CreateModelVersion(ctx, sqlstore.NewModelVersion{
		Name: name, Source: lm.source(c.run), RunID: c.run.Info.RunID, ModelID: lm.modelID,
		Description: "registered by posml promotion after pipeline run " + run.ID.String(),
		Tags: []registry.Tag{
			{Key: lineage.TagPipelineRunID, Value: run.ID.String()},
			{Key: lineage.TagProject, Value: run.Project},
		},
	})
	if err != nil {
		return mv, err
	}
	if err := p.store.AddRunOutput(ctx, pipeline.Output{RunID: run.ID, MLflowRunID: c.run.Info.RunID, ModelName: name, ModelVersion: int(mv.Version)}); err != nil {
		return mv, err
	}
	return mv, nil
}

// moveChampion points champion at d.NewVersion, and previous-champion at
// the version it named before.
func (p *Promoter) moveChampion(ctx context.Context, d *lineage.Decision, champ registry.ModelVersion, hasChamp bool) error {
	if hasChamp && champ.Version != d.NewVersion {
		if err := p.store.SetRegisteredModelAlias(ctx, d.ModelName, lineage.AliasPreviousChampion, champ.Version); err != nil {
			return err
		}
	}
	if err := p.store.SetRegisteredModelAlias(ctx, d.ModelName, lineage.AliasChampion, d.NewVersion); err != nil {
		return err
	}
	d.AliasMoved = true
	return nil
}

func (p *Promoter) notifyDecision(ctx context.Context, run pipeline.Run, d lineage.Decision) {
	if p.notify == nil {
		return
	}
	kind := notify.Hold
	switch {
	case d.AliasMoved:
		kind = notify.Promotion
	case d.Outcome == lineage.Recorded:
		return // nothing changed that anyone must act on
	}
	ev := notify.Event{Kind: kind, Project: run.Project, Pipeline: string(run.Pipeline), RunID: run.ID.String(),
		Model: d.ModelName, Metric: d.Metric, Message: d.Reason, Time: p.now()}
	if d.NewVersion > 0 {
		ev.Version = strconv.FormatInt(d.NewVersion, 10)
	}
	if pr, err := p.store.Project(ctx, run.ProjectID); err == nil {
		ev.URLs = pr.NotifyURLs
	}
	p.notify.Notify(ctx, ev)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
