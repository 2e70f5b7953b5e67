package search

import "strings"

// The experiment grammar: MLflow's SearchExperimentsUtils plus the operator
// checks of its SQL tracking store.

var (
	experimentSearchKeys  = keySet{"name", "creation_time", "last_update_time"}
	experimentOrderKeys   = keySet{"name", "experiment_id", "creation_time", "last_update_time"}
	experimentNumericKeys = keySet{"creation_time", "last_update_time"}
)

const msgScopedEntityTypes = "('attribute', 'tag', 'tags')"

// experimentIdentifier resolves an identifier as
// SearchExperimentsUtils._get_identifier does: the only prefixes are
// attribute, tag and tags, spelled exactly so.
func experimentIdentifier(ident string, attrs keySet) (EntityType, string, error) {
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
	key = trimBackticks(stripQuotes(key))
	if typ == KeyAttribute && !attrs.has(key) {
		return 0, "", invalid("Invalid attribute key '" + key + "' specified. Valid keys are '" + attrs.String() + "'")
	}
	return typ, key, nil
}

var experimentGrammar = grammar{
	allowNull:  true,
	multiMsg:   multiExprMsg,
	invalidMsg: invalidClausesPlain,
	clause:     experimentClause,
	check:      experimentCheck,
}

// ParseExperimentFilter parses the filter of experiments/search. An empty
// filter gives no clauses.
//
// Clauses and their keys:
//   - KeyAttribute, key name: Str with = != LIKE ILIKE.
//   - KeyAttribute, key creation_time or last_update_time: numeric
//     (milliseconds) with = != > >= < <=.
//   - KeyTag, key as written: Str with = != LIKE ILIKE, or no value with
//     IS NULL / IS NOT NULL.
func ParseExperimentFilter(filter string) ([]Clause, error) { return experimentGrammar.parse(filter) }

func experimentClause(c comparison) (Clause, error) {
	if c.left.kind != tkIdent {
		return Clause{}, notIdentifierErr(c.left)
	}
	typ, key, err := experimentIdentifier(c.left.text, experimentSearchKeys)
	if err != nil {
		return Clause{}, err
	}
	cl := Clause{Type: typ, Key: key, Op: c.op}
	if c.op == OpIsNull || c.op == OpIsNotNull {
		if typ != KeyTag {
			return Clause{}, invalid("IS NULL / IS NOT NULL is only supported for tags")
		}
		return cl, nil
	}
	v := c.right
	switch {
	case typ == KeyTag:
		if !isStringToken(v) {
			return Clause{}, invalid("Expected a quoted string value for tag (e.g. 'my-value'). Got value " + v.text)
		}
		cl.Str, err = quotedValue(v)
	case experimentNumericKeys.has(key):
		if v.kind != tkNumber {
			return Clause{}, invalid("Expected numeric value type for numeric attribute: " + key + ". Found " + v.text)
		}
		numberValue(&cl, v)
	case isStringToken(v):
		cl.Str, err = quotedValue(v)
	case v.kind == tkParen:
		err = invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.")
	default:
		err = invalid("Expected a quoted string value for attributes. Got value " + v.text)
	}
	if err != nil {
		return Clause{}, err
	}
	return cl, nil
}

func experimentCheck(c *Clause) error {
	switch {
	case c.Op == OpIsNull || c.Op == OpIsNotNull:
	case c.Type == KeyTag:
		if !isStringOp(c.Op) {
			return invalid("Invalid comparator for tag: " + c.Op)
		}
	case c.IsNumeric:
		if !isNumericOp(c.Op) {
			return invalid("Invalid comparator '" + c.Op + "' not one of '" + setStringAttrOps)
		}
	default:
		if !isStringOp(c.Op) && !isListOp(c.Op) {
			return invalid("Invalid comparator '" + c.Op + "' not one of '" + setStringAttrOps + "'")
		}
		if !isStringOp(c.Op) {
			return invalid("Invalid comparator for string attribute: " + c.Op)
		}
	}
	return nil
}

// ParseExperimentOrderBy parses the order_by list of experiments/search.
// Keys are the attributes name, experiment_id, creation_time and
// last_update_time (Type KeyAttribute). MLflow does not refuse repeated
// keys here. Its default order is creation_time DESC, experiment_id ASC, and
// it appends experiment_id DESC as a tie-breaker unless experiment_id was
// given.
func ParseExperimentOrderBy(clauses []string) ([]OrderBy, error) {
	out := make([]OrderBy, 0, len(clauses))
	for _, s := range clauses {
		ident, desc, err := parseOrderString(s)
		if err != nil {
			return nil, err
		}
		typ, key, err := experimentIdentifier(strings.TrimSpace(ident), experimentOrderKeys)
		if err != nil {
			return nil, err
		}
		if typ != KeyAttribute {
			return nil, invalid("Invalid order_by entity: " + typ.String())
		}
		out = append(out, OrderBy{Type: typ, Key: key, Desc: desc})
	}
	return out, nil
}
