package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/tracking"
)

// sqlBuf builds a statement and its arguments in order. Only constant SQL
// fragments are written into it; every value from a request is an argument.
type sqlBuf struct {
	b    strings.Builder
	args []any
}

func (q *sqlBuf) add(sql string, args ...any) {
	q.b.WriteString(sql)
	q.args = append(q.args, args...)
}

// compare writes "<col> <op> <value>" for a clause whose column expression is
// col (a constant), taking the value from the clause.
func (q *sqlBuf) compare(d dialect, col string, c search.Clause) error {
	switch c.Op {
	case search.OpEq, search.OpNe, search.OpGt, search.OpGe, search.OpLt, search.OpLe:
		op := c.Op
		if c.IsNumeric {
			if n, ok := exactInt(c); ok {
				q.add(col+" "+op+" ?", n)
			} else {
				q.add("CAST("+col+" AS DOUBLE PRECISION) "+op+" ?", c.Num)
			}
			return nil
		}
		q.add(col+" "+op+" ?", c.Str)
	case search.OpLike:
		q.add(col+" LIKE ?", c.Str)
	case search.OpILike:
		q.add(d.ilike(col, "?"), c.Str)
	case search.OpIn, search.OpNotIn:
		if len(c.List) == 0 {
			if c.Op == search.OpIn {
				q.add("1 = 0")
			} else {
				q.add("1 = 1")
			}
			return nil
		}
		args := make([]any, len(c.List))
		for i, v := range c.List {
			args[i] = v
		}
		kw := " IN ("
		if c.Op == search.OpNotIn {
			kw = " NOT IN ("
		}
		q.add(col+kw+placeholders(len(args))+")", args...)
	default:
		return posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid comparator '%s'", c.Op))
	}
	return nil
}

// exactInt returns the clause's number as an int64 when it is integral.
func exactInt(c search.Clause) (int64, bool) {
	if n, err := strconv.ParseInt(strings.TrimSpace(c.Str), 10, 64); err == nil {
		return n, true
	}
	if c.Num == math.Trunc(c.Num) && math.Abs(c.Num) < 1<<53 {
		return int64(c.Num), true
	}
	return 0, false
}

// statusExpr turns the integer status column into MLflow's names.
const runStatusExpr = `(CASE r.status WHEN 1 THEN 'RUNNING' WHEN 2 THEN 'SCHEDULED' WHEN 3 THEN 'FINISHED' WHEN 4 THEN 'FAILED' WHEN 5 THEN 'KILLED' ELSE 'RUNNING' END)`

// runAttribute maps a run attribute key to its column expression.
func runAttribute(key string) (string, bool) {
	switch strings.ToLower(key) {
	case "run_id", "run_uuid", "id":
		return "r.run_uuid", true
	case "run_name", "run name", "name":
		return "r.name", true
	case "status":
		return runStatusExpr, true
	case "user_id":
		return "r.user_id", true
	case "artifact_uri":
		return "r.artifact_uri", true
	case "start_time", "created":
		return "r.start_time", true
	case "end_time":
		return "r.end_time", true
	case "lifecycle_stage":
		return "r.lifecycle_stage", true
	case "experiment_id":
		return "r.experiment_id", true
	}
	return "", false
}

// RunQuery is a search over runs.
type RunQuery struct {
	ExperimentIDs []string
	Filter        []search.Clause
	OrderBy       []search.OrderBy
	View          tracking.ViewType
	MaxResults    int
	Offset        int
}

// SearchRuns returns the runs of the experiments that pass the filter, in
// order, from Offset, at most MaxResults, and whether more follow.
func (s *Store) SearchRuns(ctx context.Context, rq RunQuery) ([]tracking.Run, bool, error) {
	var exps []any
	for _, id := range rq.ExperimentIDs {
		if n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64); err == nil {
			exps = append(exps, n)
		}
	}
	if len(exps) == 0 || rq.MaxResults <= 0 {
		return nil, false, nil
	}
	var q sqlBuf
	q.add(`SELECT ` + runColumns + ` FROM runs r`)
	// Joins for ordering by metrics, params and tags.
	var orderExprs []string
	hasStart, hasID := false, false
	for i, o := range rq.OrderBy {
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		alias := "o" + strconv.Itoa(i)
		switch o.Type {
		case search.KeyMetric:
			q.add(` LEFT JOIN latest_metrics `+alias+` ON `+alias+`.run_id = r.id AND `+alias+`.key = ?`, o.Key)
			orderExprs = append(orderExprs,
				`(CASE WHEN `+alias+`.value IS NULL THEN 2 WHEN `+alias+`.is_nan = 1 THEN 1 ELSE 0 END)`,
				alias+`.value`+dir)
		case search.KeyParam, search.KeyTag:
			table := "params"
			if o.Type == search.KeyTag {
				table = "tags"
			}
			q.add(` LEFT JOIN `+table+` `+alias+` ON `+alias+`.run_id = r.id AND `+alias+`.key = ?`, o.Key)
			orderExprs = append(orderExprs, `(CASE WHEN `+alias+`.value IS NULL THEN 1 ELSE 0 END)`, alias+`.value`+dir)
		case search.KeyAttribute:
			col, ok := runAttribute(o.Key)
			if !ok {
				return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid attribute key '%s' specified. Valid keys are '%s'", o.Key, validRunAttributes))
			}
			hasStart = hasStart || col == "r.start_time"
			hasID = hasID || col == "r.run_uuid"
			orderExprs = append(orderExprs, `(CASE WHEN `+col+` IS NULL THEN 1 ELSE 0 END)`, col+dir)
		default:
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid order_by entity type '%s'", o.Type))
		}
	}
	if !hasStart {
		orderExprs = append(orderExprs, "r.start_time DESC")
	}
	if !hasID {
		orderExprs = append(orderExprs, "r.run_uuid ASC")
	}
	q.add(` WHERE r.experiment_id IN (`+placeholders(len(exps))+`)`, exps...)
	stages := rq.View.Stages()
	stageArgs := make([]any, len(stages))
	for i, st := range stages {
		stageArgs[i] = string(st)
	}
	q.add(` AND r.lifecycle_stage IN (`+placeholders(len(stages))+`)`, stageArgs...)
	for _, c := range rq.Filter {
		q.add(" AND ")
		if err := s.runClause(&q, c); err != nil {
			return nil, false, err
		}
	}
	q.add(` ORDER BY ` + strings.Join(orderExprs, ", "))
	q.add(` LIMIT ? OFFSET ?`, rq.MaxResults+1, rq.Offset)

	var ids []int64
	var runs []tracking.Run
	err := s.scanEach(ctx, q.b.String(), q.args, func(rows *sql.Rows) error {
		id, info, err := scanRunInfo(rows)
		if err != nil {
			return err
		}
		ids = append(ids, id)
		runs = append(runs, tracking.Run{Info: info})
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	more := len(runs) > rq.MaxResults
	if more {
		runs, ids = runs[:rq.MaxResults], ids[:rq.MaxResults]
	}
	if err := s.loadRunData(ctx, ids, runs, false); err != nil {
		return nil, false, err
	}
	return runs, more, nil
}

const validRunAttributes = "run_id, run_name, status, user_id, artifact_uri, start_time, end_time"

// runClause writes the SQL condition of one filter clause on runs r.
func (s *Store) runClause(q *sqlBuf, c search.Clause) error {
	switch c.Type {
	case search.KeyMetric:
		q.add(`EXISTS (SELECT 1 FROM latest_metrics f WHERE f.run_id = r.id AND f.key = ? AND f.is_nan = 0 AND `, c.Key)
		if err := q.compare(s.d, "f.value", c); err != nil {
			return err
		}
		q.add(")")
	case search.KeyParam, search.KeyTag:
		table := "params"
		if c.Type == search.KeyTag {
			table = "tags"
		}
		switch c.Op {
		case search.OpIsNull:
			q.add(`NOT EXISTS (SELECT 1 FROM `+table+` f WHERE f.run_id = r.id AND f.key = ?)`, c.Key)
			return nil
		case search.OpIsNotNull:
			q.add(`EXISTS (SELECT 1 FROM `+table+` f WHERE f.run_id = r.id AND f.key = ?)`, c.Key)
			return nil
		}
		q.add(`EXISTS (SELECT 1 FROM `+table+` f WHERE f.run_id = r.id AND f.key = ? AND `, c.Key)
		if err := q.compare(s.d, "f.value", c); err != nil {
			return err
		}
		q.add(")")
	case search.KeyAttribute:
		col, ok := runAttribute(c.Key)
		if !ok {
			return posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid attribute key '%s' specified. Valid keys are '%s'", c.Key, validRunAttributes))
		}
		if col == "r.experiment_id" && !c.IsNumeric {
			if n, err := strconv.ParseInt(c.Str, 10, 64); err == nil {
				c.IsNumeric, c.Num, c.Str = true, float64(n), strconv.FormatInt(n, 10)
			}
		}
		return q.compare(s.d, col, c)
	case search.KeyDataset:
		var col string
		switch strings.ToLower(c.Key) {
		case "name":
			col = "d.name"
		case "digest":
			col = "d.digest"
		case "context":
			col = "t.value"
		default:
			return posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid dataset key '%s' specified. Valid keys are 'name', 'digest', 'context'", c.Key))
		}
		q.add(`EXISTS (SELECT 1 FROM dataset_inputs di JOIN datasets d ON d.id = di.dataset_id
			LEFT JOIN dataset_input_tags t ON t.input_id = di.id AND t.key = ?
			WHERE di.run_id = r.id AND `, tracking.TagDatasetContext)
		if err := q.compare(s.d, col, c); err != nil {
			return err
		}
		q.add(")")
	default:
		return posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid filter entity type '%s'", c.Type))
	}
	return nil
}

// ExperimentQuery is a search over experiments.
type ExperimentQuery struct {
	Filter     []search.Clause
	OrderBy    []search.OrderBy
	View       tracking.ViewType
	MaxResults int
	Offset     int
}

func experimentAttribute(key string) (string, bool) {
	switch strings.ToLower(key) {
	case "name":
		return "e.name", true
	case "experiment_id", "id":
		return "e.experiment_id", true
	case "creation_time":
		return "e.creation_time", true
	case "last_update_time":
		return "e.last_update_time", true
	case "lifecycle_stage":
		return "e.lifecycle_stage", true
	case "artifact_location":
		return "e.artifact_location", true
	}
	return "", false
}

// SearchExperiments returns the experiments that pass the filter, in order,
// from Offset, at most MaxResults, and whether more follow. The default order
// is newest first.
func (s *Store) SearchExperiments(ctx context.Context, eq ExperimentQuery) ([]tracking.Experiment, bool, error) {
	if eq.MaxResults <= 0 {
		return nil, false, nil
	}
	var q sqlBuf
	q.add(`SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time FROM experiments e`)
	var orderExprs []string
	hasID := false
	for _, o := range eq.OrderBy {
		if o.Type != search.KeyAttribute {
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid order_by entity: %s", o.Type))
		}
		col, ok := experimentAttribute(o.Key)
		if !ok {
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid order by key '%s' specified. Valid keys are ['name', 'experiment_id', 'creation_time', 'last_update_time']", o.Key))
		}
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		hasID = hasID || col == "e.experiment_id"
		orderExprs = append(orderExprs, col+dir)
	}
	switch {
	case len(eq.OrderBy) == 0:
		// MLflow's default: newest first.
		orderExprs = append(orderExprs, "e.creation_time DESC", "e.experiment_id ASC")
	case !hasID:
		orderExprs = append(orderExprs, "e.experiment_id DESC")
	}
	stages := eq.View.Stages()
	stageArgs := make([]any, len(stages))
	for i, st := range stages {
		stageArgs[i] = string(st)
	}
	q.add(` WHERE e.lifecycle_stage IN (`+placeholders(len(stages))+`)`, stageArgs...)
	for _, c := range eq.Filter {
		q.add(" AND ")
		switch c.Type {
		case search.KeyTag:
			switch c.Op {
			case search.OpIsNull:
				q.add(`NOT EXISTS (SELECT 1 FROM experiment_tags f WHERE f.experiment_id = e.experiment_id AND f.key = ?)`, c.Key)
				continue
			case search.OpIsNotNull:
				q.add(`EXISTS (SELECT 1 FROM experiment_tags f WHERE f.experiment_id = e.experiment_id AND f.key = ?)`, c.Key)
				continue
			}
			q.add(`EXISTS (SELECT 1 FROM experiment_tags f WHERE f.experiment_id = e.experiment_id AND f.key = ? AND `, c.Key)
			if err := q.compare(s.d, "f.value", c); err != nil {
				return nil, false, err
			}
			q.add(")")
		case search.KeyAttribute:
			col, ok := experimentAttribute(c.Key)
			if !ok {
				return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid attribute key '%s' specified. Valid keys are '['name', 'creation_time', 'last_update_time']'", c.Key))
			}
			if col == "e.experiment_id" && !c.IsNumeric {
				if n, err := strconv.ParseInt(c.Str, 10, 64); err == nil {
					c.IsNumeric, c.Num, c.Str = true, float64(n), strconv.FormatInt(n, 10)
				}
			}
			if err := q.compare(s.d, col, c); err != nil {
				return nil, false, err
			}
		default:
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid filter entity type '%s' for experiments", c.Type))
		}
	}
	q.add(` ORDER BY ` + strings.Join(orderExprs, ", "))
	q.add(` LIMIT ? OFFSET ?`, eq.MaxResults+1, eq.Offset)
	var exps []tracking.Experiment
	err := s.scanEach(ctx, q.b.String(), q.args, func(rows *sql.Rows) error {
		e, err := scanExperiment(rows)
		if err != nil {
			return err
		}
		exps = append(exps, e)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	more := len(exps) > eq.MaxResults
	if more {
		exps = exps[:eq.MaxResults]
	}
	ptrs := make([]*tracking.Experiment, len(exps))
	for i := range exps {
		ptrs[i] = &exps[i]
	}
	if err := s.loadExperimentTags(ctx, ptrs); err != nil {
		return nil, false, err
	}
	return exps, more, nil
}

// ModelQuery is a search over logged models.
type ModelQuery struct {
	ExperimentIDs []string
	Filter        []search.Clause
	// Datasets restricts to models with metrics on one of these datasets
	// (digest optional).
	Datasets   []DatasetRef
	OrderBy    []ModelOrder
	MaxResults int
	Offset     int
}

// DatasetRef names a dataset by name and, optionally, digest.
type DatasetRef struct {
	Name, Digest string
}

// ModelOrder is one order_by entry of a logged model search: an attribute
// (name, model_id, creation_timestamp, ...) or "metrics.<key>".
type ModelOrder struct {
	Field     string
	Ascending bool
	Dataset   DatasetRef
}

func modelAttribute(key string) (string, bool) {
	switch strings.ToLower(key) {
	case "name":
		return "m.name", true
	case "model_id":
		return "m.model_id", true
	case "model_type":
		return "m.model_type", true
	case "status":
		return `(CASE m.status WHEN 1 THEN 'PENDING' WHEN 2 THEN 'READY' WHEN 3 THEN 'UPLOAD_FAILED' ELSE 'UNSPECIFIED' END)`, true
	case "source_run_id":
		return "m.source_run_id", true
	case "creation_timestamp", "creation_time", "creation_timestamp_ms":
		return "m.creation_timestamp_ms", true
	case "last_updated_timestamp", "last_updated_time", "last_updated_timestamp_ms":
		return "m.last_updated_timestamp_ms", true
	case "experiment_id":
		return "m.experiment_id", true
	}
	return "", false
}

// SearchLoggedModels returns the logged models of the experiments that pass
// the filter, newest first unless ordered otherwise.
func (s *Store) SearchLoggedModels(ctx context.Context, mq ModelQuery) ([]tracking.LoggedModel, bool, error) {
	var exps []any
	for _, id := range mq.ExperimentIDs {
		if n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64); err == nil {
			exps = append(exps, n)
		}
	}
	if len(exps) == 0 || mq.MaxResults <= 0 {
		return nil, false, nil
	}
	var q sqlBuf
	q.add(`SELECT m.model_id, m.experiment_id, m.name, m.artifact_location, m.creation_timestamp_ms, m.last_updated_timestamp_ms, m.status, m.status_message, m.lifecycle_stage, m.model_type, m.source_run_id FROM logged_models m`)
	var orderExprs []string
	hasCreation := false
	for i, o := range mq.OrderBy {
		dir := " DESC"
		if o.Ascending {
			dir = " ASC"
		}
		if key, ok := strings.CutPrefix(o.Field, "metrics."); ok {
			alias := "o" + strconv.Itoa(i)
			q.add(` LEFT JOIN (SELECT model_id, MAX(value) AS value FROM logged_model_metrics WHERE key = ?`, key)
			if o.Dataset.Name != "" {
				q.add(` AND dataset_name = ?`, o.Dataset.Name)
			}
			if o.Dataset.Digest != "" {
				q.add(` AND dataset_digest = ?`, o.Dataset.Digest)
			}
			q.add(` GROUP BY model_id) ` + alias + ` ON ` + alias + `.model_id = m.model_id`)
			orderExprs = append(orderExprs, `(CASE WHEN `+alias+`.value IS NULL THEN 1 ELSE 0 END)`, alias+`.value`+dir)
			continue
		}
		col, ok := modelAttribute(o.Field)
		if !ok {
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid order by field name: %s", o.Field))
		}
		hasCreation = hasCreation || col == "m.creation_timestamp_ms"
		orderExprs = append(orderExprs, `(CASE WHEN `+col+` IS NULL THEN 1 ELSE 0 END)`, col+dir)
	}
	if !hasCreation {
		orderExprs = append(orderExprs, "m.creation_timestamp_ms DESC")
	}
	orderExprs = append(orderExprs, "m.model_id ASC")
	q.add(` WHERE m.lifecycle_stage = 'active' AND m.experiment_id IN (`+placeholders(len(exps))+`)`, exps...)
	datasetCond := func() {
		if len(mq.Datasets) == 0 {
			return
		}
		q.add(" AND (")
		for i, d := range mq.Datasets {
			if i > 0 {
				q.add(" OR ")
			}
			q.add("(f.dataset_name = ?", d.Name)
			if d.Digest != "" {
				q.add(" AND f.dataset_digest = ?", d.Digest)
			}
			q.add(")")
		}
		q.add(")")
	}
	hasMetricFilter := false
	for _, c := range mq.Filter {
		q.add(" AND ")
		switch c.Type {
		case search.KeyMetric:
			hasMetricFilter = true
			q.add(`EXISTS (SELECT 1 FROM logged_model_metrics f WHERE f.model_id = m.model_id AND f.key = ? AND f.is_nan = 0 AND `, c.Key)
			if err := q.compare(s.d, "f.value", c); err != nil {
				return nil, false, err
			}
			datasetCond()
			q.add(")")
		case search.KeyParam, search.KeyTag:
			table := "logged_model_params"
			if c.Type == search.KeyTag {
				table = "logged_model_tags"
			}
			q.add(`EXISTS (SELECT 1 FROM `+table+` f WHERE f.model_id = m.model_id AND f.key = ? AND `, c.Key)
			if err := q.compare(s.d, "f.value", c); err != nil {
				return nil, false, err
			}
			q.add(")")
		case search.KeyAttribute:
			col, ok := modelAttribute(c.Key)
			if !ok {
				return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid attribute key '%s' specified.", c.Key))
			}
			if strings.HasPrefix(col, "(CASE m.status") && !c.IsNumeric {
				c.Str = strings.TrimPrefix(strings.ToUpper(c.Str), "LOGGED_MODEL_")
			}
			if err := q.compare(s.d, col, c); err != nil {
				return nil, false, err
			}
		default:
			return nil, false, posml.Errorf(posml.KindInvalid, fmt.Sprintf("Invalid filter entity type '%s' for logged models", c.Type))
		}
	}
	if len(mq.Datasets) > 0 && !hasMetricFilter {
		q.add(` AND EXISTS (SELECT 1 FROM logged_model_metrics f WHERE f.model_id = m.model_id`)
		datasetCond()
		q.add(")")
	}
	q.add(` ORDER BY ` + strings.Join(orderExprs, ", "))
	q.add(` LIMIT ? OFFSET ?`, mq.MaxResults+1, mq.Offset)
	var ms []tracking.LoggedModel
	err := s.scanEach(ctx, q.b.String(), q.args, func(rows *sql.Rows) error {
		m, err := scanModel(rows)
		if err != nil {
			return err
		}
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	more := len(ms) > mq.MaxResults
	if more {
		ms = ms[:mq.MaxResults]
	}
	if err := s.loadModelData(ctx, s.r, ms); err != nil {
		return nil, false, err
	}
	return ms, more, nil
}
