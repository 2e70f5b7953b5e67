package search

import "strings"

// The run grammar: MLflow's SearchUtils plus the operator checks of its
// SQLAlchemy tracking store.

// entityNames maps every prefix SearchUtils accepts to its entity type.
// Matching is case-sensitive, as in MLflow: "Metrics.x" is rejected.
var entityNames = map[string]EntityType{
	"metric": KeyMetric, "metrics": KeyMetric,
	"parameter": KeyParam, "parameters": KeyParam, "param": KeyParam, "params": KeyParam,
	"tag": KeyTag, "tags": KeyTag,
	"attribute": KeyAttribute, "attributes": KeyAttribute, "attr": KeyAttribute, "run": KeyAttribute,
	"dataset": KeyDataset, "datasets": KeyDataset,
}

const msgEntityTypes = "['metric', 'parameter', 'tag', 'attribute', 'dataset']"

// keySet is a set of keys that prints like the Python set MLflow prints.
type keySet []string

func (k keySet) has(s string) bool {
	for _, x := range k {
		if x == s {
			return true
		}
	}
	return false
}

func (k keySet) String() string { return pySet(k...) }

var (
	runSearchKeys = keySet{"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id",
		"created", "Created", "run name", "Run name", "Run Name"}
	runOrderKeys   = keySet{"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id", "created", "Created"}
	runNumericKeys = keySet{"start_time", "end_time", "created", "Created"}
	datasetKeys    = keySet{"name", "digest", "context"}
)

// Comparator sets as MLflow prints them in its messages.
const (
	setMetricOps     = "{'>', '>=', '!=', '=', '<', '<='}"
	setParamOps      = "{'!=', '=', 'LIKE', 'ILIKE'}"
	setStringAttrOps = "{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"
)

func isNumericOp(op string) bool {
	switch op {
	case OpEq, OpNe, OpGt, OpGe, OpLt, OpLe:
		return true
	}
	return false
}

func isStringOp(op string) bool {
	switch op {
	case OpEq, OpNe, OpLike, OpILike:
		return true
	}
	return false
}

func isListOp(op string) bool { return op == OpIn || op == OpNotIn }

// runAlias returns the canonical name of a run attribute.
func runAlias(key string) string {
	switch key {
	case "created", "Created":
		return "start_time"
	case "run name", "Run name", "Run Name":
		return "run_name"
	}
	return key
}

// runIdentifier resolves an identifier as SearchUtils._get_identifier does:
// "<prefix>.<key>" or a bare attribute key; keys may be `backticked` or
// "double-quoted". The key is returned as written (aliases not applied).
func runIdentifier(ident string, attrs keySet) (EntityType, string, error) {
	typ := KeyAttribute
	entity, key, dotted := strings.Cut(ident, ".")
	if !dotted {
		key = entity
	} else {
		entity = trimBackticks(entity)
		t, ok := entityNames[entity]
		if !ok {
			return 0, "", invalid("Invalid entity type '" + entity + "'. Valid values are " + msgEntityTypes)
		}
		typ = t
	}
	key = trimBackticks(stripQuotes(key))
	switch {
	case typ == KeyAttribute && !attrs.has(key):
		return 0, "", invalid("Invalid attribute key '" + key + "' specified. Valid keys are '" + attrs.String() + "'")
	case typ == KeyDataset && !datasetKeys.has(key):
		return 0, "", invalid("Invalid dataset key '" + key + "' specified. Valid keys are '" + datasetKeys.String() + "'")
	}
	return typ, key, nil
}

var runGrammar = grammar{
	allowNull:  true,
	multiMsg:   multiExprMsg,
	invalidMsg: invalidClausesQuoted,
	clause:     runClause,
	check:      runCheck,
}

// ParseRunFilter parses the filter of runs/search (MLflow's
// SearchUtils.parse_search_filter followed by the operator checks of its
// SQL store). An empty filter gives no clauses.
//
// Clauses and their keys:
//   - KeyMetric, key as written: numeric (IsNumeric) with = != > >= < <=.
//   - KeyParam, KeyTag, key as written: Str with = != LIKE ILIKE, or no value
//     with IS NULL / IS NOT NULL (a run without the key matches IS NULL).
//   - KeyAttribute, key run_id, run_name, status, user_id or artifact_uri:
//     Str with = != LIKE ILIKE; run_id also takes IN / NOT IN with List.
//     MLflow answers run_name from the mlflow.runName tag, since old runs
//     have an empty name column.
//   - KeyAttribute, key start_time or end_time: numeric (milliseconds).
//   - KeyDataset, key name, digest or context (the mlflow.data.context tag
//     of the dataset input): Str with = != LIKE ILIKE, or List with IN /
//     NOT IN. The clause matches when any dataset input of the run does.
//
// Aliases: created and Created become start_time; "run name", "Run name"
// and "Run Name" become run_name.
func ParseRunFilter(filter string) ([]Clause, error) { return runGrammar.parse(filter) }

func runClause(c comparison) (Clause, error) {
	if c.left.kind != tkIdent {
		return Clause{}, notIdentifierErr(c.left)
	}
	typ, key, err := runIdentifier(c.left.text, runSearchKeys)
	if err != nil {
		return Clause{}, err
	}
	cl := Clause{Type: typ, Key: key, Op: c.op}
	if c.op == OpIsNull || c.op == OpIsNotNull {
		if typ != KeyParam && typ != KeyTag {
			return Clause{}, invalid("IS NULL / IS NOT NULL is only supported for tags and params")
		}
		return cl, nil
	}
	v := c.right
	switch typ {
	case KeyMetric:
		if v.kind != tkNumber {
			return Clause{}, invalid("Expected numeric value type for metric. Found " + v.text)
		}
		numberValue(&cl, v)
	case KeyParam, KeyTag:
		if !isStringToken(v) {
			return Clause{}, invalid("Expected a quoted string value for " + typ.String() + " (e.g. 'my-value'). Got value " + v.text)
		}
		if cl.Str, err = quotedValue(v); err != nil {
			return Clause{}, err
		}
	case KeyAttribute:
		switch {
		case runNumericKeys.has(key):
			if v.kind != tkNumber {
				return Clause{}, invalid("Expected numeric value type for numeric attribute: " + key + ". Found " + v.text)
			}
			numberValue(&cl, v)
		case isStringToken(v):
			if cl.Str, err = quotedValue(v); err != nil {
				return Clause{}, err
			}
		case v.kind == tkParen:
			if key != "run_id" {
				return Clause{}, invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.")
			}
			if err := listValue(&cl, v, "attributes"); err != nil {
				return Clause{}, err
			}
		default:
			return Clause{}, invalid("Expected a quoted string value for attributes. Got value " + v.text)
		}
		cl.Key = runAlias(key)
	case KeyDataset:
		switch {
		case isStringToken(v):
			if cl.Str, err = quotedValue(v); err != nil {
				return Clause{}, err
			}
		case v.kind == tkParen:
			if err := listValue(&cl, v, "dataset attributes"); err != nil {
				return Clause{}, err
			}
		default:
			return Clause{}, invalid("Expected a quoted string value for dataset attributes. Got value " + v.text)
		}
	}
	return cl, nil
}

// listValue sets c.List from a parenthesised list. A list only goes with IN
// or NOT IN; with another operator MLflow would fail in SQL, so the list is
// refused as a value, in MLflow's words for a bad value of what.
func listValue(c *Clause, v token, what string) error {
	if !isListOp(c.Op) {
		return invalid("Expected a quoted string value for " + what + ". Got value " + v.text)
	}
	list, err := parseList(v)
	if err != nil {
		return err
	}
	c.List = list
	return nil
}

// runCheck applies the operator checks of MLflow's SQL tracking store, with
// its messages (quirks included: some lack the closing quote, and numeric
// attributes list the string operators).
func runCheck(c *Clause) error {
	if c.Op == OpIsNull || c.Op == OpIsNotNull {
		return nil
	}
	ok, set, closeQuote := true, "", "'"
	switch c.Type {
	case KeyAttribute:
		if c.IsNumeric {
			ok, set, closeQuote = isNumericOp(c.Op), setStringAttrOps, ""
		} else {
			ok, set = isStringOp(c.Op) || isListOp(c.Op), setStringAttrOps
		}
	case KeyMetric:
		ok, set, closeQuote = isNumericOp(c.Op), setMetricOps, ""
	case KeyParam:
		ok, set = isStringOp(c.Op), setParamOps
	case KeyTag:
		ok, set, closeQuote = isStringOp(c.Op), setParamOps, ""
	case KeyDataset:
		ok, set, closeQuote = isStringOp(c.Op) || isListOp(c.Op), setStringAttrOps, ""
	}
	if !ok {
		return invalid("Invalid comparator '" + c.Op + "' not one of '" + set + closeQuote)
	}
	return nil
}

// ParseRunOrderBy parses the order_by list of runs/search. Each entry is
// "<identifier> [ASC|DESC]" (direction in any case, default ASC) where the
// identifier is a metric, param, tag or attribute (artifact_uri, end_time,
// run_id, run_name, start_time, status, user_id; created is start_time).
// An entity that appears twice is refused. MLflow then orders by
// start_time DESC unless it was given, and always last by run_id; missing
// values (and NaN metrics) sort last in both directions.
func ParseRunOrderBy(clauses []string) ([]OrderBy, error) {
	out := make([]OrderBy, 0, len(clauses))
	for _, s := range clauses {
		ident, desc, err := parseOrderString(s)
		if err != nil {
			return nil, err
		}
		typ, key, err := runIdentifier(strings.TrimSpace(ident), runOrderKeys)
		if err != nil {
			return nil, err
		}
		if typ == KeyDataset {
			return nil, invalid("Invalid identifier type 'dataset'")
		}
		if typ == KeyAttribute {
			key = runAlias(key)
		}
		o := OrderBy{Type: typ, Key: key, Desc: desc}
		for _, p := range out {
			if p.Type == o.Type && p.Key == o.Key {
				return nil, duplicateOrderErr(clauses)
			}
		}
		out = append(out, o)
	}
	return out, nil
}
