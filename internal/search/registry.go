package search

import (
	"errors"
	"strconv"
	"strings"
)

// The model registry grammars: MLflow's SearchModelUtils and
// SearchModelVersionUtils plus the operator checks of its SQL registry store.

var (
	modelSearchKeys          = keySet{"name"}
	modelVersionSearchKeys   = keySet{"name", "version_number", "run_id", "source_path"}
	modelVersionOrderKeys    = keySet{"name", "version_number", "creation_timestamp", "last_updated_timestamp"}
	modelVersionNumericKeys  = keySet{"version_number", "creation_timestamp", "last_updated_timestamp"}
	registeredModelOrderKeys = keySet{"name", "timestamp"} // as MLflow's message lists them
)

// registryIdentifier resolves an identifier as the registry's
// _get_model_search_identifier does: prefixes attribute, tag and tags, and
// an attribute key is checked before its quotes are removed.
func registryIdentifier(ident string, attrs keySet) (EntityType, string, error) {
	typ := KeyAttribute
	entity, key, dotted := strings.Cut(ident, ".")
	if !dotted {
		key = entity
	} else {
		switch entity {
		case "attribute":
		case "tag", "tags":
			typ = KeyTag
		default:
			return 0, "", invalid("Invalid entity type '" + entity + "'. Valid entity types are " + msgScopedEntityTypes)
		}
	}
	if typ == KeyAttribute && !attrs.has(key) {
		return 0, "", invalid("Invalid attribute key '" + key + "' specified. Valid keys are '" + attrs.String() + "'")
	}
	return typ, trimBackticks(stripQuotes(key)), nil
}

// registryClause resolves one comparison of a registry filter. Numbers are
// accepted only for the keys in numeric (model versions).
func registryClause(c comparison, attrs, numeric keySet) (Clause, error) {
	if c.left.kind != tkIdent {
		return Clause{}, notIdentifierErr(c.left)
	}
	typ, key, err := registryIdentifier(c.left.text, attrs)
	if err != nil {
		return Clause{}, err
	}
	cl := Clause{Type: typ, Key: key, Op: c.op}
	v := c.right
	switch {
	case typ == KeyTag:
		if !isStringToken(v) {
			return Clause{}, invalid("Expected a quoted string value for tag (e.g. 'my-value'). Got value " + v.text)
		}
		cl.Str, err = quotedValue(v)
	case isStringToken(v):
		cl.Str, err = quotedValue(v)
		cl.IsNumeric = numeric.has(key) // converted by the check, as the store's SQL would
	case v.kind == tkParen:
		if key != "run_id" {
			return Clause{}, invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.")
		}
		err = listValue(&cl, v, "attributes")
	case v.kind == tkNumber && len(numeric) > 0:
		if !numeric.has(key) {
			return Clause{}, invalid("Only the '" + numeric.String() + "' attributes support comparison with numeric values.")
		}
		numberValue(&cl, v)
	default:
		err = invalid("Expected a quoted string value or a list of quoted string values for attributes. Got value " + v.text)
	}
	if err != nil {
		return Clause{}, err
	}
	return cl, nil
}

var registeredModelGrammar = grammar{
	multiMsg:   multiExprMsg,
	invalidMsg: invalidClausesPlain,
	clause: func(c comparison) (Clause, error) {
		return registryClause(c, modelSearchKeys, nil)
	},
	check: func(c *Clause) error {
		if c.Type == KeyTag {
			if !isStringOp(c.Op) {
				return invalid("Invalid comparator for tag: " + c.Op)
			}
			return nil
		}
		if !isStringOp(c.Op) {
			return invalid("Invalid comparator for attribute: " + c.Op)
		}
		return nil
	},
}

// ParseRegisteredModelFilter parses the filter of
// registered-models/search. An empty filter gives no clauses.
//
// Clauses: KeyAttribute with key name, or KeyTag with the key as written;
// both with Str and = != LIKE ILIKE. MLflow 3 hides prompts (registered
// models tagged mlflow.prompt.is_prompt = 'true') unless a clause on that
// tag asks for them (= 'true' or != 'false', any case).
func ParseRegisteredModelFilter(filter string) ([]Clause, error) {
	return registeredModelGrammar.parse(filter)
}

var modelVersionGrammar = grammar{
	multiMsg:   multiExprMsg,
	invalidMsg: invalidClausesPlain,
	clause: func(c comparison) (Clause, error) {
		return registryClause(c, modelVersionSearchKeys, modelVersionNumericKeys)
	},
	check: modelVersionCheck,
}

// ParseModelVersionFilter parses the filter of model-versions/search. An
// empty filter gives no clauses.
//
// Clauses and their keys:
//   - KeyAttribute, key name, source_path (the source column) or run_id: Str
//     with = != LIKE ILIKE; run_id also takes IN with List (not NOT IN, as
//     in MLflow).
//   - KeyAttribute, key version_number: numeric with = != > >= < <=. A
//     quoted number ('3') is accepted, as MLflow's SQL accepts it.
//   - KeyTag, key as written: Str with = != LIKE ILIKE.
//
// MLflow leaves out versions in the Deleted_Internal stage, and in MLflow 3
// prompt versions, as for registered models.
func ParseModelVersionFilter(filter string) ([]Clause, error) {
	return modelVersionGrammar.parse(filter)
}

func modelVersionCheck(c *Clause) error {
	switch {
	case c.Type == KeyTag:
		if !isStringOp(c.Op) {
			return invalid("Invalid comparator for tag: " + c.Op)
		}
	case c.IsNumeric:
		if !isNumericOp(c.Op) {
			return invalid("Invalid comparator for attribute " + c.Key + ": " + c.Op)
		}
		// A literal parses again to the same value; a quoted one ('3') is
		// made a number here, after the operator check, as in MLflow.
		f, err := strconv.ParseFloat(c.Str, 64)
		if (err != nil && !errors.Is(err, strconv.ErrRange)) || strings.ContainsAny(c.Str, "xXnNiI_") {
			return invalid("Expected numeric value type for numeric attribute: " + c.Key + ". Found '" + c.Str + "'")
		}
		c.Num = f
	default:
		if !isStringOp(c.Op) && (c.Op != OpIn || c.Key != "run_id") {
			return invalid("Invalid comparator for attribute: " + c.Op)
		}
	}
	return nil
}

// ParseRegisteredModelOrderBy parses the order_by list of
// registered-models/search. Keys (Type KeyAttribute): name,
// last_updated_timestamp (alias timestamp) and creation_timestamp. MLflow's
// SQL store knows only the first two and its file store only name and the
// two *_timestamp keys; this accepts all of them. A field given twice is
// refused (timestamp and last_updated_timestamp are one field). MLflow
// appends name ASC unless name was given.
func ParseRegisteredModelOrderBy(clauses []string) ([]OrderBy, error) {
	out := make([]OrderBy, 0, len(clauses))
	for _, s := range clauses {
		ident, desc, err := parseOrderString(s)
		if err != nil {
			return nil, err
		}
		key := strings.TrimSpace(ident)
		switch key {
		case "timestamp":
			key = "last_updated_timestamp"
		case "name", "last_updated_timestamp", "creation_timestamp":
		default:
			return nil, invalid("Invalid order by key '" + key + "' specified. Valid keys are '" + registeredModelOrderKeys.String() + "'")
		}
		out, err = appendOrder(out, OrderBy{Type: KeyAttribute, Key: key, Desc: desc}, clauses)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ParseModelVersionOrderBy parses the order_by list of
// model-versions/search. Keys (Type KeyAttribute): name, version_number,
// creation_timestamp and last_updated_timestamp. A field given twice is
// refused. MLflow's default is last_updated_timestamp DESC, name ASC,
// version_number DESC, and it appends name ASC and version_number DESC
// unless they were given.
func ParseModelVersionOrderBy(clauses []string) ([]OrderBy, error) {
	out := make([]OrderBy, 0, len(clauses))
	for _, s := range clauses {
		ident, desc, err := parseOrderString(s)
		if err != nil {
			return nil, err
		}
		typ, key, err := experimentIdentifier(strings.TrimSpace(ident), modelVersionOrderKeys)
		if err != nil {
			return nil, err
		}
		if typ != KeyAttribute {
			return nil, invalid("Invalid order by key '" + key + "' specified. Valid keys are " + modelVersionOrderKeys.String())
		}
		out, err = appendOrder(out, OrderBy{Type: typ, Key: key, Desc: desc}, clauses)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// appendOrder appends o to out unless its key is already there.
func appendOrder(out []OrderBy, o OrderBy, clauses []string) ([]OrderBy, error) {
	for _, p := range out {
		if p.Type == o.Type && p.Key == o.Key {
			return nil, duplicateOrderErr(clauses)
		}
	}
	return append(out, o), nil
}
