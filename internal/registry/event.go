package registry

import "context"

// Actor is who made a registry change: a user, a pipeline run acting through
// its token, or neither (an anonymous client).
type Actor struct {
	UserID        string
	PipelineRunID string
}

// String names the actor for logs and timelines: "user:<id>",
// "pipeline-run:<id>" or "anonymous".
func (a Actor) String() string {
	switch {
	case a.PipelineRunID != "":
		return "pipeline-run:" + a.PipelineRunID
	case a.UserID != "":
		return "user:" + a.UserID
	default:
		return "anonymous"
	}
}

type actorKey struct{}

// WithActor returns a context carrying the actor of a request, so that the
// registry changes the request makes are attributed to it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor put in ctx.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Action names what an event did.
type Action string

// The actions. Model-level actions have no version.
const (
	ActionModelCreated      Action = "registered_model.created"
	ActionModelRenamed      Action = "registered_model.renamed"
	ActionModelUpdated      Action = "registered_model.updated"
	ActionModelDeleted      Action = "registered_model.deleted"
	ActionModelTagSet       Action = "registered_model.tag_set"
	ActionModelTagDeleted   Action = "registered_model.tag_deleted"
	ActionAliasSet          Action = "alias.set"
	ActionAliasDeleted      Action = "alias.deleted"
	ActionVersionCreated    Action = "model_version.created"
	ActionVersionUpdated    Action = "model_version.updated"
	ActionVersionStage      Action = "model_version.stage_transitioned"
	ActionVersionDeleted    Action = "model_version.deleted"
	ActionVersionTagSet     Action = "model_version.tag_set"
	ActionVersionTagDeleted Action = "model_version.tag_deleted"
)

// Event records one change to the registry: the history a model's timeline
// shows. Events outlive what they describe: a deleted model keeps its
// events, and a renamed one keeps the events from before the rename.
type Event struct {
	ID        int64
	ModelName string // the model's name when the event happened
	Version   int64  // 0 for an event on the registered model itself
	Action    Action
	Actor     Actor
	Timestamp int64 // ms
	// Details says what changed, e.g. {"from": "None", "to": "Production"}.
	Details map[string]any
}
