package search

import "strings"

// The logged model grammar (MLflow 3). MLflow has two parsers for it: the
// SQL store's search_logged_model_utils, and SearchLoggedModelsUtils for the
// file store. This follows the first for messages and operators and accepts
// what either accepts: SearchUtils prefixes, double-quoted values, unquoted
// numbers for string keys, and IN / NOT IN lists for string attributes.

var loggedModelSearchKeys = keySet{"name", "model_id", "model_type", "status", "source_run_id",
	"creation_timestamp", "creation_time", "last_updated_timestamp", "last_updated_time"}

// loggedModelAlias returns the canonical name of a logged model attribute.
func loggedModelAlias(key string) string {
	switch key {
	case "creation_time":
		return "creation_timestamp"
	case "last_updated_time":
		return "last_updated_timestamp"
	}
	return key
}

func loggedModelNumeric(key string) bool {
	return key == "creation_timestamp" || key == "last_updated_timestamp"
}

// loggedModelLabel names an entity type in the SQL store's messages.
func loggedModelLabel(t EntityType) string {
	switch t {
	case KeyMetric:
		return "metrics"
	case KeyParam:
		return "params"
	case KeyTag:
		return "tags"
	}
	return "attributes"
}

var loggedModelGrammar = grammar{
	multiMsg: func(filter string) string {
		return "Invalid filter string: " + pyStr(filter) + ". Expected a single SQL expression."
	},
	invalidMsg: func(filter string, _ []string) string {
		return "Invalid filter string: " + pyStr(filter) + ". Expected a list of comparisons separated by 'AND' " +
			"(e.g. 'metrics.loss > 0.1 AND params.lr = 0.01')."
	},
	clause: loggedModelClause,
	check:  loggedModelCheck,
}

// ParseLoggedModelFilter parses the filter of logged-models/search. An empty
// filter gives no clauses.
//
// Clauses and their keys:
//   - KeyMetric, key as written: numeric with = != > >= < <=.
//   - KeyParam, KeyTag, key as written: Str with = != LIKE ILIKE.
//   - KeyAttribute, key name, model_id, model_type, status or
//     source_run_id: Str with = != LIKE ILIKE, or List with IN / NOT IN.
//     MLflow stores status as an integer; the value is its name (READY).
//   - KeyAttribute, key creation_timestamp or last_updated_timestamp
//     (aliases creation_time, last_updated_time): numeric milliseconds.
//
// The datasets of the request narrow metric clauses to metrics logged on
// those datasets; that is the caller's business.
func ParseLoggedModelFilter(filter string) ([]Clause, error) { return loggedModelGrammar.parse(filter) }

func loggedModelClause(c comparison) (Clause, error) {
	if c.left.kind != tkIdent {
		return Clause{}, notIdentifierErr(c.left)
	}
	typ := KeyAttribute
	entity, key, dotted := strings.Cut(c.left.text, ".")
	if !dotted {
		key = entity
	} else {
		entity = trimBackticks(entity)
		t, ok := entityNames[entity]
		if !ok || t == KeyDataset {
			return Clause{}, invalid("Invalid entity type: " + pyStr(entity) + ". Expected one of ['attributes', 'metrics', 'params', 'tags'].")
		}
		typ = t
	}
	key = trimBackticks(stripQuotes(key))
	if typ == KeyAttribute {
		if !loggedModelSearchKeys.has(key) {
			return Clause{}, invalid("Invalid attribute key '" + key + "' specified. Valid keys are '" + loggedModelSearchKeys.String() + "'")
		}
		key = loggedModelAlias(key)
	}
	cl := Clause{Type: typ, Key: key, Op: c.op}
	v := c.right
	var err error
	switch {
	case typ == KeyMetric:
		if v.kind != tkNumber {
			return Clause{}, invalid("Expected numeric value type for metric. Found " + v.text)
		}
		numberValue(&cl, v)
	case typ == KeyAttribute && loggedModelNumeric(key):
		if v.kind != tkNumber {
			return Clause{}, invalid("Expected numeric value type for numeric attribute: " + key + ". Found " + v.text)
		}
		numberValue(&cl, v)
	case isStringToken(v):
		cl.Str, err = quotedValue(v)
	case v.kind == tkNumber:
		cl.Str = v.text
	case v.kind == tkParen && typ == KeyAttribute:
		err = listValue(&cl, v, "attributes")
	case typ == KeyAttribute:
		err = invalid("Expected a quoted string value for attributes. Got value " + v.text)
	default:
		err = invalid("Expected a quoted string value for " + typ.String() + " (e.g. 'my-value'). Got value " + v.text)
	}
	if err != nil {
		return Clause{}, err
	}
	return cl, nil
}

func loggedModelCheck(c *Clause) error {
	ok := isStringOp(c.Op) || (c.Type == KeyAttribute && isListOp(c.Op))
	if c.IsNumeric {
		ok = isNumericOp(c.Op)
	}
	if !ok {
		return invalid("Invalid comparison operator for " + loggedModelLabel(c.Type) + "." + c.Key + ": " + pyStr(c.Op) +
			". Expected one of ('=', '!=', 'LIKE', 'ILIKE').")
	}
	return nil
}

// ParseLoggedModelOrderBy checks one entry of the order_by list of
// logged-models/search, which MLflow sends as a JSON object
// {"field_name", "ascending", "dataset_name", "dataset_digest"}: the
// dataset fields, which narrow a metric to one dataset, are the caller's.
// field_name is an attribute (as in ParseLoggedModelFilter, aliases
// resolved) or metrics.<key>. MLflow appends creation_timestamp DESC unless
// it was given; missing values sort last.
func ParseLoggedModelOrderBy(fieldName string, ascending bool) (OrderBy, error) {
	if fieldName == "" {
		return OrderBy{}, invalid("`field_name` in the `order_by` clause must be specified.")
	}
	if entity, key, ok := strings.Cut(fieldName, "."); ok {
		if entity != "metrics" {
			return OrderBy{}, invalid("Invalid order by field name: " + fieldName + ". Only metrics are supported.")
		}
		return OrderBy{Type: KeyMetric, Key: key, Desc: !ascending}, nil
	}
	key := strings.TrimSpace(fieldName)
	if !loggedModelSearchKeys.has(key) {
		return OrderBy{}, invalid("Invalid order by field name: " + fieldName)
	}
	return OrderBy{Type: KeyAttribute, Key: loggedModelAlias(key), Desc: !ascending}, nil
}
