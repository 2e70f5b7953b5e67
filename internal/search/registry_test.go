package search

import "testing"

const (
	mvKeys      = "{'name', 'version_number', 'run_id', 'source_path'}"
	mvOrderKeys = "{'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'}"
)

var registeredModelValid = []validCase{
	{"", nil},
	{"name = 'm'", []Clause{str(KeyAttribute, "name", "=", "m")}},
	{`name = "m"`, []Clause{str(KeyAttribute, "name", "=", "m")}},
	{"attribute.name != 'x'", []Clause{str(KeyAttribute, "name", "!=", "x")}},
	{"name LIKE '%m%' AND name ilike 'M%'", []Clause{str(KeyAttribute, "name", "LIKE", "%m%"), str(KeyAttribute, "name", "ILIKE", "M%")}},
	{"tags.k = 'v'", []Clause{str(KeyTag, "k", "=", "v")}},
	{"tag.`mlflow.prompt.is_prompt` = 'true'", []Clause{str(KeyTag, "mlflow.prompt.is_prompt", "=", "true")}},
	{`tags."a b" != "c"`, []Clause{str(KeyTag, "a b", "!=", "c")}},
}

func TestParseRegisteredModelFilter(t *testing.T) {
	checkValid(t, ParseRegisteredModelFilter, registeredModelValid)
}

var registeredModelErrors = []errorCase{
	{"name = 'a';name='b'", "Search filter contained multiple expression \"name = 'a';name='b'\". Provide AND-ed expression list."},
	{"name = 'a' or name = 'b'", "Invalid clause(s) in filter string: or"},
	{"tags.k IS NULL", "Invalid clause(s) in filter string: tags.k, IS, NULL"},
	{"attributes.name = 'a'", "Invalid entity type 'attributes'. Valid entity types are " + scopedTypes},
	{"`name` = 'm'", "Invalid attribute key '`name`' specified. Valid keys are '{'name'}'"},
	{"version = 1", "Invalid attribute key 'version' specified. Valid keys are '{'name'}'"},
	{"run_id IN ('a')", "Invalid attribute key 'run_id' specified. Valid keys are '{'name'}'"},
	{"name = 1", "Expected a quoted string value or a list of quoted string values for attributes. Got value 1"},
	{"name IN ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values."},
	{"tags.k LIKE 5", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5"},
	{"name > 'a'", "Invalid comparator for attribute: >"},
	{"name NOT LIKE 'a'", "Invalid comparator for attribute: NOT LIKE"},
	{"tags.k > 'v'", "Invalid comparator for tag: >"},
	{"1 = 1", "Invalid comparison clause. Expected 'Identifier' found '1'"},
}

func TestParseRegisteredModelFilterErrors(t *testing.T) {
	checkErrors(t, ParseRegisteredModelFilter, registeredModelErrors)
}

var modelVersionValid = []validCase{
	{"", nil},
	{"name = 'm'", []Clause{str(KeyAttribute, "name", "=", "m")}},
	{"run_id = 'abc'", []Clause{str(KeyAttribute, "run_id", "=", "abc")}},
	{"run_id IN ('abc', 'def', 'GHI')", []Clause{list(KeyAttribute, "run_id", "IN", "abc", "def")}},
	{"source_path LIKE 's3://%'", []Clause{str(KeyAttribute, "source_path", "LIKE", "s3://%")}},
	{"version_number = 3", []Clause{num(KeyAttribute, "version_number", "=", "3")}},
	{"version_number >= 2.0", []Clause{num(KeyAttribute, "version_number", ">=", "2.0")}},
	{"version_number = '3'", []Clause{num(KeyAttribute, "version_number", "=", "3")}},
	{"tags.k = 'v' AND tag.`x.y` ILIKE 'z%'", []Clause{str(KeyTag, "k", "=", "v"), str(KeyTag, "x.y", "ILIKE", "z%")}},
	{"name='m' AND version_number > 1", []Clause{str(KeyAttribute, "name", "=", "m"), num(KeyAttribute, "version_number", ">", "1")}},
}

func TestParseModelVersionFilter(t *testing.T) {
	checkValid(t, ParseModelVersionFilter, modelVersionValid)
}

var modelVersionErrors = []errorCase{
	{"run_id NOT IN ('a')", "Invalid comparator for attribute: NOT IN"},
	{"name IN ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values."},
	{"version_number LIKE '1%'", "Invalid comparator for attribute version_number: LIKE"},
	{"version_number = 'abc'", "Expected numeric value type for numeric attribute: version_number. Found 'abc'"},
	{"version_number = 'inf'", "Expected numeric value type for numeric attribute: version_number. Found 'inf'"},
	{"name = 1", "Only the '{'version_number', 'creation_timestamp', 'last_updated_timestamp'}' attributes support comparison with numeric values."},
	{"name = 0x1", "Expected a quoted string value or a list of quoted string values for attributes. Got value 0x1"},
	{"creation_timestamp > 1", "Invalid attribute key 'creation_timestamp' specified. Valid keys are '" + mvKeys + "'"},
	{"source = 'x'", "Invalid attribute key 'source' specified. Valid keys are '" + mvKeys + "'"},
	{"tags.k > 'v'", "Invalid comparator for tag: >"},
	{"name > 'a'", "Invalid comparator for attribute: >"},
	{"metrics.x > 1", "Invalid entity type 'metrics'. Valid entity types are " + scopedTypes},
	{"name = 'a' OR run_id = 'b'", "Invalid clause(s) in filter string: OR"},
}

func TestParseModelVersionFilterErrors(t *testing.T) {
	checkErrors(t, ParseModelVersionFilter, modelVersionErrors)
}

func TestParseRegisteredModelOrderBy(t *testing.T) {
	checkOrder(t, ParseRegisteredModelOrderBy, []orderCase{
		{nil, nil},
		{[]string{"name"}, []OrderBy{asc(KeyAttribute, "name")}},
		{[]string{"timestamp DESC"}, []OrderBy{desc(KeyAttribute, "last_updated_timestamp")}},
		{[]string{"timestamp"}, []OrderBy{asc(KeyAttribute, "last_updated_timestamp")}},
		{[]string{"last_updated_timestamp", "name DESC"}, []OrderBy{asc(KeyAttribute, "last_updated_timestamp"), desc(KeyAttribute, "name")}},
		{[]string{"creation_timestamp ASC"}, []OrderBy{asc(KeyAttribute, "creation_timestamp")}},
	})
	checkOrderErrors(t, ParseRegisteredModelOrderBy, []orderErrorCase{
		{[]string{"timestamp", "last_updated_timestamp DESC"}, "`order_by` contains duplicate fields: ['timestamp', 'last_updated_timestamp DESC']"},
		{[]string{"tags.x"}, "Invalid order by key 'tags.x' specified. Valid keys are '{'name', 'timestamp'}'"},
		{[]string{"`name`"}, "Invalid order by key '`name`' specified. Valid keys are '{'name', 'timestamp'}'"},
		{[]string{"last_updated_timestamp DESC blah"}, "Invalid order_by clause 'last_updated_timestamp DESC blah'. Could not be parsed."},
		{[]string{""}, "Invalid order_by clause ''. Could not be parsed."},
		{[]string{"timestamp somerandomstuff ASC"}, "Invalid order_by clause 'timestamp somerandomstuff ASC'. Could not be parsed."},
		{[]string{"timestamp somerandomstuff"}, "Invalid order_by clause 'timestamp somerandomstuff'. Could not be parsed."},
		{[]string{"timestamp decs"}, "Invalid order_by clause 'timestamp decs'. Could not be parsed."},
		{[]string{"timestamp ACS"}, "Invalid order_by clause 'timestamp ACS'. Could not be parsed."},
		{[]string{"TIMESTAMP"}, "Invalid order_by clause 'TIMESTAMP'. Could not be parsed."},
		{[]string{"name aCs"}, "Invalid ordering key in order_by clause 'name aCs'."},
	})
}

func TestParseModelVersionOrderBy(t *testing.T) {
	checkOrder(t, ParseModelVersionOrderBy, []orderCase{
		{nil, nil},
		{[]string{"name", "version_number DESC"}, []OrderBy{asc(KeyAttribute, "name"), desc(KeyAttribute, "version_number")}},
		{[]string{"creation_timestamp", "last_updated_timestamp ASC"}, []OrderBy{
			asc(KeyAttribute, "creation_timestamp"), asc(KeyAttribute, "last_updated_timestamp")}},
		{[]string{"attribute.name DESC"}, []OrderBy{desc(KeyAttribute, "name")}},
	})
	checkOrderErrors(t, ParseModelVersionOrderBy, []orderErrorCase{
		{[]string{"run_id"}, "Invalid attribute key 'run_id' specified. Valid keys are '" + mvOrderKeys + "'"},
		{[]string{"tags.a"}, "Invalid order by key 'a' specified. Valid keys are " + mvOrderKeys},
		{[]string{"name", "name DESC"}, "`order_by` contains duplicate fields: ['name', 'name DESC']"},
		{[]string{"version_number up"}, "Invalid ordering key in order_by clause 'version_number up'."},
	})
}
