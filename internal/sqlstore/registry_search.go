package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/search"
)

// Limits of the registry searches (mlflow/store/model_registry/__init__.py
// and the protos' defaults).
const (
	MaxRegisteredModelResults     = 1000
	DefaultRegisteredModelResults = 100
	MaxModelVersionResults        = 200000
	DefaultModelVersionResults    = 200000
)

// RegistryQuery is a search over registered models or model versions:
// clauses from search.ParseRegisteredModelFilter or ParseModelVersionFilter
// and an order from the matching order_by parser.
type RegistryQuery struct {
	Filter     []search.Clause
	OrderBy    []search.OrderBy
	MaxResults int
	Offset     int
}

// queryingPrompts reports whether a filter asks for MLflow 3 prompts: the
// first clause on the prompt tag decides, = 'true' or != 'false' (any case).
func queryingPrompts(filter []search.Clause) bool {
	for _, c := range filter {
		if c.Type != search.KeyTag || c.Key != registry.TagIsPrompt {
			continue
		}
		v := strings.ToLower(c.Str)
		return c.Op == search.OpEq && v == "true" || c.Op == search.OpNe && v == "false"
	}
	return false
}

// registryFilter writes the conditions of a registry filter. attr maps an
// attribute key to its column; tagCond starts an EXISTS over the entity's
// tags named f. Unless the filter asks for prompts, clauses on the prompt
// tag are dropped and prompts excluded, as MLflow 3 does.
func (s *Store) registryFilter(q *sqlBuf, filter []search.Clause, attr func(string) (string, bool), tagCond, promptCond string) error {
	prompts := queryingPrompts(filter)
	for _, c := range filter {
		switch c.Type {
		case search.KeyTag:
			if !prompts && c.Key == registry.TagIsPrompt {
				continue
			}
			q.add(` AND `+tagCond+` AND f.key = ? AND `, c.Key)
			if err := q.compare(s.d, "f.value", c); err != nil {
				return err
			}
			q.add(`)`)
		case search.KeyAttribute:
			col, ok := attr(c.Key)
			if !ok {
				return posml.Errorf(posml.KindInvalid, "Invalid attribute name: "+c.Key)
			}
			q.add(` AND `)
			if err := q.compare(s.d, col, c); err != nil {
				return err
			}
		default:
			return posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid token type: %s", c.Type))
		}
	}
	if !prompts {
		q.add(` AND NOT `+promptCond, registry.TagIsPrompt)
	}
	return nil
}

func orderDir(desc bool) string {
	if desc {
		return " DESC"
	}
	return " ASC"
}

// SearchRegisteredModels returns the registered models that pass the
// filter, in order (name ascending unless ordered otherwise; ties broken by
// name), from Offset, at most MaxResults, and whether more follow.
func (s *Store) SearchRegisteredModels(ctx context.Context, rq RegistryQuery) ([]registry.RegisteredModel, bool, error) {
	if rq.MaxResults > MaxRegisteredModelResults {
		return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf(
			"Invalid value for request parameter max_results. It must be at most %d, but got value %d", MaxRegisteredModelResults, rq.MaxResults))
	}
	if rq.MaxResults <= 0 {
		return nil, false, nil
	}
	var q sqlBuf
	q.add(`SELECT ` + modelCols + ` FROM registered_models m WHERE 1 = 1`)
	attr := func(key string) (string, bool) {
		if key == "name" {
			return "m.name", true
		}
		return "", false
	}
	if err := s.registryFilter(&q, rq.Filter, attr,
		`EXISTS (SELECT 1 FROM registered_model_tags f WHERE f.model_id = m.id`,
		`EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.model_id = m.id AND p.key = ? AND p.value = 'true')`); err != nil {
		return nil, false, err
	}
	var order []string
	hasName := false
	for _, o := range rq.OrderBy {
		var col string
		switch o.Key {
		case "name":
			col, hasName = "m.name", true
		case "last_updated_timestamp", "timestamp":
			col = "m.last_updated_time"
		case "creation_timestamp":
			col = "m.creation_time"
		default:
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf(
				"Invalid order by key '%s' specified.Valid keys are '['timestamp', 'last_updated_timestamp', 'name']'", o.Key))
		}
		order = append(order, col+orderDir(o.Desc))
	}
	if !hasName {
		order = append(order, "m.name ASC")
	}
	q.add(` ORDER BY ` + strings.Join(order, ", "))
	q.add(` LIMIT ? OFFSET ?`, rq.MaxResults+1, rq.Offset)
	var ids []int64
	var rms []registry.RegisteredModel
	err := s.scanEach(ctx, q.b.String(), q.args, func(rows *sql.Rows) error {
		var id int64
		var rm registry.RegisteredModel
		if err := rows.Scan(&id, &rm.Name, &rm.CreationTimestamp, &rm.LastUpdatedTimestamp, &rm.Description); err != nil {
			return err
		}
		ids = append(ids, id)
		rms = append(rms, rm)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	more := len(rms) > rq.MaxResults
	if more {
		rms, ids = rms[:rq.MaxResults], ids[:rq.MaxResults]
	}
	if err := loadModelDetails(s.pool(ctx), ids, rms); err != nil {
		return nil, false, internal("search registered models", err)
	}
	return rms, more, nil
}

// SearchModelVersions returns the versions (deleted ones never) that pass
// the filter, in order (by default last_updated_timestamp DESC; ties broken
// by name ASC, then version DESC), from Offset, at most MaxResults, and
// whether more follow.
func (s *Store) SearchModelVersions(ctx context.Context, rq RegistryQuery) ([]registry.ModelVersion, bool, error) {
	if rq.MaxResults < 1 {
		return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf(
			"Invalid value for max_results. It must be a positive integer, but got %d", rq.MaxResults))
	}
	if rq.MaxResults > MaxModelVersionResults {
		return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf(
			"Invalid value for request parameter max_results. It must be at most %d, but got value %d", MaxModelVersionResults, rq.MaxResults))
	}
	var q sqlBuf
	q.add(`SELECT `+versionCols+` FROM model_versions v JOIN registered_models m ON m.id = v.model_id WHERE v.current_stage <> ?`,
		string(registry.StageDeletedInternal))
	attr := func(key string) (string, bool) {
		switch key {
		case "name":
			return "m.name", true
		case "run_id":
			return "v.run_id", true
		case "source_path":
			return "v.source", true
		case "version_number":
			return "v.version", true
		}
		return "", false
	}
	if err := s.registryFilter(&q, rq.Filter, attr,
		`EXISTS (SELECT 1 FROM model_version_tags f WHERE f.model_id = v.model_id AND f.version = v.version`,
		`EXISTS (SELECT 1 FROM model_version_tags p WHERE p.model_id = v.model_id AND p.key = ? AND p.value = 'true')`); err != nil {
		return nil, false, err
	}
	orderBy := rq.OrderBy
	if len(orderBy) == 0 {
		orderBy = []search.OrderBy{{Type: search.KeyAttribute, Key: "last_updated_timestamp", Desc: true}}
	}
	var order []string
	hasName, hasVersion := false, false
	for _, o := range orderBy {
		var col string
		switch o.Key {
		case "name":
			col, hasName = "m.name", true
		case "version_number":
			col, hasVersion = "v.version", true
		case "creation_timestamp":
			col = "v.creation_time"
		case "last_updated_timestamp":
			col = "v.last_updated_time"
		default:
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf(
				"Invalid order by key '%s' specified. Valid keys are {'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'}", o.Key))
		}
		order = append(order, col+orderDir(o.Desc))
	}
	if !hasName {
		order = append(order, "m.name ASC")
	}
	if !hasVersion {
		order = append(order, "v.version DESC")
	}
	q.add(` ORDER BY ` + strings.Join(order, ", "))
	q.add(` LIMIT ? OFFSET ?`, rq.MaxResults+1, rq.Offset)
	var keys []versionKey
	var mvs []registry.ModelVersion
	err := s.scanEach(ctx, q.b.String(), q.args, func(rows *sql.Rows) error {
		k, mv, err := scanVersion(rows)
		keys = append(keys, k)
		mvs = append(mvs, mv)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	more := len(keys) > rq.MaxResults
	if more {
		keys, mvs = keys[:rq.MaxResults], mvs[:rq.MaxResults]
	}
	if err := fillVersionTagsAliases(s.pool(ctx), keys, mvs); err != nil {
		return nil, false, internal("search model versions", err)
	}
	return mvs, more, nil
}
