package search

import "testing"

const (
	expKeys      = "{'name', 'creation_time', 'last_update_time'}"
	expOrderKeys = "{'name', 'experiment_id', 'creation_time', 'last_update_time'}"
	scopedTypes  = "('attribute', 'tag', 'tags')"
)

var experimentValid = []validCase{
	{"", nil},
	{"name = 'a'", []Clause{str(KeyAttribute, "name", "=", "a")}},
	{`name = "a"`, []Clause{str(KeyAttribute, "name", "=", "a")}},
	{"attribute.name != 'a'", []Clause{str(KeyAttribute, "name", "!=", "a")}},
	{"name LIKE 'exp%' AND tags.a = '1'", []Clause{str(KeyAttribute, "name", "LIKE", "exp%"), str(KeyTag, "a", "=", "1")}},
	{"name ilike '%X'", []Clause{str(KeyAttribute, "name", "ILIKE", "%X")}},
	{`name LIKE "jamie-foo C+%"`, []Clause{str(KeyAttribute, "name", "LIKE", "jamie-foo C+%")}},
	{"creation_time > 123", []Clause{num(KeyAttribute, "creation_time", ">", "123")}},
	{"attribute.last_update_time <= 5 AND creation_time != 1", []Clause{
		num(KeyAttribute, "last_update_time", "<=", "5"), num(KeyAttribute, "creation_time", "!=", "1")}},
	{"tag.k != 'v'", []Clause{str(KeyTag, "k", "!=", "v")}},
	{"tags.`a.b` = 'x'", []Clause{str(KeyTag, "a.b", "=", "x")}},
	{`tags."my key" = "v"`, []Clause{str(KeyTag, "my key", "=", "v")}},
	{"tag.key1 IS NOT NULL", []Clause{null(KeyTag, "key1", "IS NOT NULL")}},
	{"tag.key1 = 'value' AND tag.key2 IS NULL", []Clause{str(KeyTag, "key1", "=", "value"), null(KeyTag, "key2", "IS NULL")}},
}

func TestParseExperimentFilter(t *testing.T) { checkValid(t, ParseExperimentFilter, experimentValid) }

var experimentErrors = []errorCase{
	{"name = 'a'; name = 'b'", "Search filter contained multiple expression \"name = 'a'; name = 'b'\". Provide AND-ed expression list."},
	{"name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: OR"},
	{"name = 'a' AND (tags.x = 'y')", "Invalid clause(s) in filter string: (tags.x = 'y')"},
	{"name = 'a' or name = 'b' or", "Invalid clause(s) in filter string: or, or"},
	{"name IS NULL", "IS NULL / IS NOT NULL is only supported for tags"},
	{"creation_time IS NOT NULL", "IS NULL / IS NOT NULL is only supported for tags"},
	{"attributes.name = 'x'", "Invalid entity type 'attributes'. Valid entity types are " + scopedTypes},
	{"`tag`.name = 'x'", "Invalid entity type '`tag`'. Valid entity types are " + scopedTypes},
	{"metrics.a > 1", "Invalid entity type 'metrics'. Valid entity types are " + scopedTypes},
	{"experiment_id = '1'", "Invalid attribute key 'experiment_id' specified. Valid keys are '" + expKeys + "'"},
	{"attribute.lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '" + expKeys + "'"},
	{"1 = name", "Invalid comparison clause. Expected 'Identifier' found '1'"},
	{"name IN ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values."},
	{"name = ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values."},
	{"name = 5", "Expected a quoted string value for attributes. Got value 5"},
	{"name = a", "Parameter value is either not quoted or unidentified quote types used for string value a. Use either single or double quotes."},
	{"creation_time = 'x'", "Expected numeric value type for numeric attribute: creation_time. Found 'x'"},
	{"tags.k = 5", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5"},
	{"tags.k IN ('a')", "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')"},
	{"name > 'a'", "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'"},
	{"name ~ 'a'", "Invalid comparator '~' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'"},
	{"creation_time LIKE 5", "Invalid comparator 'LIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"},
	{"tags.k > 'v'", "Invalid comparator for tag: >"},
	{"tags.k NOT LIKE 'v'", "Invalid comparator for tag: NOT LIKE"},
}

func TestParseExperimentFilterErrors(t *testing.T) {
	checkErrors(t, ParseExperimentFilter, experimentErrors)
}

func TestParseExperimentOrderBy(t *testing.T) {
	checkOrder(t, ParseExperimentOrderBy, []orderCase{
		{nil, nil},
		{[]string{"name"}, []OrderBy{asc(KeyAttribute, "name")}},
		{[]string{"experiment_id DESC", "creation_time asc", "last_update_time"}, []OrderBy{
			desc(KeyAttribute, "experiment_id"), asc(KeyAttribute, "creation_time"), asc(KeyAttribute, "last_update_time")}},
		{[]string{"attribute.name DESC"}, []OrderBy{desc(KeyAttribute, "name")}},
		{[]string{"`name` DESC"}, []OrderBy{desc(KeyAttribute, "name")}},
		{[]string{"name", "name DESC"}, []OrderBy{asc(KeyAttribute, "name"), desc(KeyAttribute, "name")}}, // MLflow allows it
	})
	checkOrderErrors(t, ParseExperimentOrderBy, []orderErrorCase{
		{[]string{"tags.a"}, "Invalid order_by entity: tag"},
		{[]string{"run_id"}, "Invalid attribute key 'run_id' specified. Valid keys are '" + expOrderKeys + "'"},
		{[]string{"metrics.a"}, "Invalid entity type 'metrics'. Valid entity types are " + scopedTypes},
		{[]string{"name sideways"}, "Invalid ordering key in order_by clause 'name sideways'."},
		{[]string{"name DESC "}, "Invalid order_by clause 'name DESC '. Could not be parsed."},
	})
}
