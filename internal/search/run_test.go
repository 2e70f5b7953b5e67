package search

import "testing"

const (
	runKeys      = "{'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id', 'created', 'Created', 'run name', 'Run name', 'Run Name'}"
	runOrderKeyS = "{'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id', 'created', 'Created'}"
	entityTypes  = "['metric', 'parameter', 'tag', 'attribute', 'dataset']"
)

// runValid holds the valid cases of MLflow's test_search_utils.py (test_filter,
// test_correct_quote_trimming) and more.
var runValid = []validCase{
	{"", nil},
	{"   \t\n", nil},
	{"metric.acc >= 0.94", []Clause{num(KeyMetric, "acc", ">=", "0.94")}},
	{"metric.acc>=100", []Clause{num(KeyMetric, "acc", ">=", "100")}},
	{"params.m!='tf'", []Clause{str(KeyParam, "m", "!=", "tf")}},
	{`params."m"!="tf"`, []Clause{str(KeyParam, "m", "!=", "tf")}},
	{`metric."legit name" >= 0.243`, []Clause{num(KeyMetric, "legit name", ">=", "0.243")}},
	{"metrics.XYZ = 3", []Clause{num(KeyMetric, "XYZ", "=", "3")}},
	{`params."cat dog" = "pets"`, []Clause{str(KeyParam, "cat dog", "=", "pets")}},
	{`metrics."X-Y-Z" = 3`, []Clause{num(KeyMetric, "X-Y-Z", "=", "3")}},
	{`metrics."X//Y#$$@&Z" = 3`, []Clause{num(KeyMetric, "X//Y#$$@&Z", "=", "3")}},
	{"params.model = 'LinearRegression'", []Clause{str(KeyParam, "model", "=", "LinearRegression")}},
	{"metrics.rmse < 1 and params.model_class = 'LR'", []Clause{
		num(KeyMetric, "rmse", "<", "1"), str(KeyParam, "model_class", "=", "LR")}},
	{"`metric`.a >= 0.1", []Clause{num(KeyMetric, "a", ">=", "0.1")}},
	{"tags.version = 'commit-hash'", []Clause{str(KeyTag, "version", "=", "commit-hash")}},
	{"`tags`.source_name = 'a notebook'", []Clause{str(KeyTag, "source_name", "=", "a notebook")}},
	{`metrics."accuracy.2.0" > 5`, []Clause{num(KeyMetric, "accuracy.2.0", ">", "5")}},
	{"metrics.`spacey name` > 5", []Clause{num(KeyMetric, "spacey name", ">", "5")}},
	{`params."p.a.r.a.m" != "a"`, []Clause{str(KeyParam, "p.a.r.a.m", "!=", "a")}},
	{`tags."t.a.g" = "a"`, []Clause{str(KeyTag, "t.a.g", "=", "a")}},
	{"attribute.artifact_uri = '1/23/4'", []Clause{str(KeyAttribute, "artifact_uri", "=", "1/23/4")}},
	{"attribute.start_time >= 1234", []Clause{num(KeyAttribute, "start_time", ">=", "1234")}},
	{"run.status = 'RUNNING'", []Clause{str(KeyAttribute, "status", "=", "RUNNING")}},
	{"dataset.name = 'my_dataset'", []Clause{str(KeyDataset, "name", "=", "my_dataset")}},
	{"tags.version IS NULL", []Clause{null(KeyTag, "version", "IS NULL")}},
	{"tags.version IS NOT NULL", []Clause{null(KeyTag, "version", "IS NOT NULL")}},
	{"params.lr IS NULL", []Clause{null(KeyParam, "lr", "IS NULL")}},
	{"params.lr is not null", []Clause{null(KeyParam, "lr", "IS NOT NULL")}},
	{"tags.a IS NULL AND params.b = 'val'", []Clause{null(KeyTag, "a", "IS NULL"), str(KeyParam, "b", "=", "val")}},
	// Quotes.
	{"params.m = 'LR'", []Clause{str(KeyParam, "m", "=", "LR")}},
	{`params.m = "LR"`, []Clause{str(KeyParam, "m", "=", "LR")}},
	{`params.m = "L'Hosp"`, []Clause{str(KeyParam, "m", "=", "L'Hosp")}},
	{`params.m = 'L''Hosp'`, []Clause{str(KeyParam, "m", "=", "L''Hosp")}},
	{`tags.t = 'a\'b'`, []Clause{str(KeyTag, "t", "=", `a\'b`)}},
	{`tags.t = 'it''s' AND tags.u = ''`, []Clause{str(KeyTag, "t", "=", "it''s"), str(KeyTag, "u", "=", "")}},
	{"tags.`mlflow.runName` = 'x'", []Clause{str(KeyTag, "mlflow.runName", "=", "x")}},
	{"tags.`a b`.c = 'x'", []Clause{str(KeyTag, "`a b`.c", "=", "x")}}, // quotes must wrap the whole key
	// Prefix aliases.
	{"metrics.a = 1 AND metric.b = 2", []Clause{num(KeyMetric, "a", "=", "1"), num(KeyMetric, "b", "=", "2")}},
	{"param.a = 'x' AND parameter.b = 'y' AND parameters.c = 'z'", []Clause{
		str(KeyParam, "a", "=", "x"), str(KeyParam, "b", "=", "y"), str(KeyParam, "c", "=", "z")}},
	{"tag.a = 'x'", []Clause{str(KeyTag, "a", "=", "x")}},
	{"attr.user_id = 'u' AND attributes.status != 'FAILED'", []Clause{
		str(KeyAttribute, "user_id", "=", "u"), str(KeyAttribute, "status", "!=", "FAILED")}},
	{"datasets.digest = 'abc' AND dataset.context = 'train'", []Clause{
		str(KeyDataset, "digest", "=", "abc"), str(KeyDataset, "context", "=", "train")}},
	// Bare attributes and their aliases.
	{"status = 'FINISHED' AND user_id != \"bob\"", []Clause{
		str(KeyAttribute, "status", "=", "FINISHED"), str(KeyAttribute, "user_id", "!=", "bob")}},
	{"run_name = 'r'", []Clause{str(KeyAttribute, "run_name", "=", "r")}},
	{`"run name" = 'r'`, []Clause{str(KeyAttribute, "run_name", "=", "r")}},
	{"`Run Name` LIKE 'r%'", []Clause{str(KeyAttribute, "run_name", "LIKE", "r%")}},
	{"attributes.`Run name` ILIKE 'r%'", []Clause{str(KeyAttribute, "run_name", "ILIKE", "r%")}},
	{"created > 5", []Clause{num(KeyAttribute, "start_time", ">", "5")}},
	{"attribute.Created <= 1700000000000", []Clause{num(KeyAttribute, "start_time", "<=", "1700000000000")}},
	{"attr.end_time != -1", []Clause{num(KeyAttribute, "end_time", "!=", "-1")}},
	// Operators in any case.
	{"params.a like 'x%'", []Clause{str(KeyParam, "a", "LIKE", "x%")}},
	{"tags.a ILike '%X'", []Clause{str(KeyTag, "a", "ILIKE", "%X")}},
	{"datasets.name like 'n%'", []Clause{str(KeyDataset, "name", "LIKE", "n%")}},
	// Lists.
	{"attributes.run_id IN ('abc', 'def')", []Clause{list(KeyAttribute, "run_id", "IN", "abc", "def")}},
	{"run_id not  in ('abc')", []Clause{list(KeyAttribute, "run_id", "NOT IN", "abc")}},
	{"run_id IN ('abc',)", []Clause{list(KeyAttribute, "run_id", "IN", "abc")}},
	{`run_id IN ("a1", 'b2')`, []Clause{list(KeyAttribute, "run_id", "IN", "a1", "b2")}},
	{"run_id IN ('ABC', 'def', '123', 'Ab')", []Clause{list(KeyAttribute, "run_id", "IN", "def")}},
	{"run_id IN ('ABC')", []Clause{list(KeyAttribute, "run_id", "IN")}},
	{"run_id IN ('a' 'b')", []Clause{list(KeyAttribute, "run_id", "IN", "ab")}},
	{"run_id IN ('a)b')", []Clause{list(KeyAttribute, "run_id", "IN", "a)b")}},
	{"datasets.name IN ('name1', 'name2')", []Clause{list(KeyDataset, "name", "IN", "name1", "name2")}},
	{"datasets.digest NOT IN ('digest1')", []Clause{list(KeyDataset, "digest", "NOT IN", "digest1")}},
	// Numbers.
	{"metrics.a > 1e3", []Clause{num(KeyMetric, "a", ">", "1e3")}},
	{"metrics.a > 1.5E-3", []Clause{num(KeyMetric, "a", ">", "1.5E-3")}},
	{"metrics.a < .5", []Clause{num(KeyMetric, "a", "<", ".5")}},
	{"metrics.a < 5.", []Clause{num(KeyMetric, "a", "<", "5.")}},
	{"metrics.a=-2.5", []Clause{num(KeyMetric, "a", "=", "-2.5")}},
	// Layout: AND anywhere, any spacing, Unicode.
	{"AND metrics.a > 1 AND AND", []Clause{num(KeyMetric, "a", ">", "1")}},
	{"metrics.a>1 AND metrics.a<2", []Clause{num(KeyMetric, "a", ">", "1"), num(KeyMetric, "a", "<", "2")}},
	{"user_id = 'ñandú' AND tags.clé = 'été'", []Clause{
		str(KeyAttribute, "user_id", "=", "ñandú"), str(KeyTag, "clé", "=", "été")}},
	{"metrics.a > 1 and\nparams.b = 'x'\t", []Clause{num(KeyMetric, "a", ">", "1"), str(KeyParam, "b", "=", "x")}},
}

func TestParseRunFilter(t *testing.T) { checkValid(t, ParseRunFilter, runValid) }

// runErrors holds the error cases of MLflow's test_search_utils.py
// (test_error_filter, test_error_comparison_clauses, test_bad_quotes,
// test_invalid_clauses, test_bad_comparators) and more, with the full
// message.
var runErrors = []errorCase{
	{"metric.acc >= 0.94; metrics.rmse < 1", "Search filter contained multiple expression 'metric.acc >= 0.94; metrics.rmse < 1'. Provide AND-ed expression list."},
	{"name = 'it''s';x", `Search filter contained multiple expression "name = 'it''s';x". Provide AND-ed expression list.`},
	{"m.acc >= 0.94", "Invalid entity type 'm'. Valid values are " + entityTypes},
	{"acc >= 0.94", "Invalid attribute key 'acc' specified. Valid keys are '" + runKeys + "'"},
	{"p.model >= 'LR'", "Invalid entity type 'p'. Valid values are " + entityTypes},
	{"attri.x != 1", "Invalid entity type 'attri'. Valid values are " + entityTypes},
	{"a.x != 1", "Invalid entity type 'a'. Valid values are " + entityTypes},
	{"Metrics.x != 1", "Invalid entity type 'Metrics'. Valid values are " + entityTypes},
	{`"metrics".x != 1`, `Invalid entity type '"metrics"'. Valid values are ` + entityTypes},
	{"model >= 'LR'", "Invalid attribute key 'model' specified. Valid keys are '" + runKeys + "'"},
	{"metrics.A > 0.1 OR params.B = 'LR'", "Invalid clause(s) in filter string: 'OR'"},
	{"metrics.A > 0.1 NAND params.B = 'LR'", "Invalid clause(s) in filter string: 'NAND'"},
	{"metrics.A > 0.1 AND (params.B = 'LR')", "Invalid clause(s) in filter string: '(params.B = 'LR')'"},
	{"(metrics.A > 0.1)", "Invalid clause(s) in filter string: '(metrics.A > 0.1)'"},
	{"`metrics.A > 0.1", "Invalid clause(s) in filter string: '`'"},
	{"param`.A > 0.1", "Invalid clause(s) in filter string: 'param', '`', '.'"},
	{"`dummy.A > 0.1", "Invalid clause(s) in filter string: '`'"},
	{"dummy`.A > 0.1", "Invalid clause(s) in filter string: 'dummy', '`', '.'"},
	{"attribute.start != 1", "Invalid attribute key 'start' specified. Valid keys are '" + runKeys + "'"},
	{"attribute.experiment_id != 1", "Invalid attribute key 'experiment_id' specified. Valid keys are '" + runKeys + "'"},
	{"attribute.lifecycle_stage = 'ACTIVE'", "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '" + runKeys + "'"},
	{"attribute.name != 1", "Invalid attribute key 'name' specified. Valid keys are '" + runKeys + "'"},
	{"attribute.time != 1", "Invalid attribute key 'time' specified. Valid keys are '" + runKeys + "'"},
	{"attribute._status != 'RUNNING'", "Invalid attribute key '_status' specified. Valid keys are '" + runKeys + "'"},
	{"attribute.status = true", "Invalid clause(s) in filter string: 'attribute.status', '=', 'true'"},
	{"dataset.status = 'true'", "Invalid dataset key 'status' specified. Valid keys are '{'name', 'digest', 'context'}'"},
	{"dataset.profile = 'num_rows: 10'", "Invalid dataset key 'profile' specified. Valid keys are '{'name', 'digest', 'context'}'"},
	{"metrics.acc IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params"},
	{"attribute.status IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params"},
	{"datasets.name IS NOT NULL", "IS NULL / IS NOT NULL is only supported for tags and params"},
	{"metric.model = 'LR'", "Expected numeric value type for metric. Found 'LR'"},
	{"metric.model = '5'", "Expected numeric value type for metric. Found '5'"},
	{"metrics.a > 0x1F", "Expected numeric value type for metric. Found 0x1F"},
	{"params.acc = 5", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 5"},
	{"tags.acc = 5", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5"},
	{"tags.acc = NULL", "Expected a quoted string value for tag (e.g. 'my-value'). Got value NULL"},
	{"params.acc IN ('a')", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a')"},
	{"metrics.acc != metrics.acc", "Expected numeric value type for metric. Found metrics.acc"},
	{"1.0 > metrics.acc", "Invalid comparison clause. Expected 'Identifier' found '1.0'"},
	{"'x' = params.a", "Invalid comparison clause. Expected 'Identifier' found ''x''"},
	{"attribute.status = 1", "Expected a quoted string value for attributes. Got value 1"},
	{"start_time > '5'", "Expected numeric value type for numeric attribute: start_time. Found '5'"},
	{"created = 'yesterday'", "Expected numeric value type for numeric attribute: created. Found 'yesterday'"},
	{"dataset.name = 5", "Expected a quoted string value for dataset attributes. Got value 5"},
	// Bad quotes.
	{"params.acc = LR", "Parameter value is either not quoted or unidentified quote types used for string value LR. Use either single or double quotes."},
	{"tags.acc = LR", "Parameter value is either not quoted or unidentified quote types used for string value LR. Use either single or double quotes."},
	{"params.acc = `LR`", "Parameter value is either not quoted or unidentified quote types used for string value `LR`. Use either single or double quotes."},
	{"status = `LR`", "Parameter value is either not quoted or unidentified quote types used for string value `LR`. Use either single or double quotes."},
	{"params.'acc = LR", "Invalid clause(s) in filter string: 'params', '.', '''"},
	{"params.acc = 'LR", "Invalid clause(s) in filter string: 'params.acc', '=', ''', 'LR'"},
	{"params.acc = LR'", "Invalid clause(s) in filter string: '''"},
	{"params.acc = \"LR'", "Invalid clause(s) in filter string: 'params.acc', '=', '\"', 'LR', '''"},
	{"tags.acc = = 'LR'", "Invalid clause(s) in filter string: 'tags.acc', '=', '=', ''LR''"},
	{"attribute.status IS 'RUNNING'", "Invalid clause(s) in filter string: 'attribute.status', 'IS', ''RUNNING''"},
	// Invalid clauses.
	{"params.acc LR !=", "Invalid clause(s) in filter string: 'params.acc', 'LR', '!='"},
	{"params.acc LR", "Invalid clause(s) in filter string: 'params.acc', 'LR'"},
	{"metric.acc !=", "Invalid clause(s) in filter string: 'metric.acc', '!='"},
	{"acc != 1.0", "Invalid attribute key 'acc' specified. Valid keys are '" + runKeys + "'"},
	{"foo is null", "Invalid attribute key 'foo' specified. Valid keys are '" + runKeys + "'"},
	{"1=1", "Invalid comparison clause. Expected 'Identifier' found '1'"},
	{"1==2", "Invalid comparison clause. Expected 'Identifier' found '1'"},
	{"metrics.a > 1;", "Invalid clause(s) in filter string: ';'"},
	{"metrics.a > 1; ", "Invalid clause(s) in filter string: ';'"},
	{"run_id IN 'a'", "Invalid clause(s) in filter string: 'run_id', 'IN', ''a''"},
	{"metrics.a > 1 OR", "Invalid clause(s) in filter string: 'OR'"},
	{"metrics.a BETWEEN 1 AND 2", "Invalid clause(s) in filter string: 'metrics.a', 'BETWEEN', '1', '2'"},
	{"metrics.a > 1 + 1", "Invalid clause(s) in filter string: '+', '1'"},
	{"metrics.a > 1 -- x", "Invalid clause(s) in filter string: '-', '-', 'x'"},
	// Bad comparators, with MLflow's quirks (missing closing quotes, numeric
	// attributes listing the string operators).
	{"metrics.abc ~ 1.0", "Invalid comparator '~' not one of '{'>', '>=', '!=', '=', '<', '<='}"},
	{"metrics.abc ~= 1.0", "Invalid comparator '~=' not one of '{'>', '>=', '!=', '=', '<', '<='}"},
	{"metrics.abc <> 1.0", "Invalid comparator '<>' not one of '{'>', '>=', '!=', '=', '<', '<='}"},
	{"metrics.abc == 1.0", "Invalid comparator '==' not one of '{'>', '>=', '!=', '=', '<', '<='}"},
	{"metrics.abc LIKE 1.0", "Invalid comparator 'LIKE' not one of '{'>', '>=', '!=', '=', '<', '<='}"},
	{"params.abc > 'my-param-value'", "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'"},
	{"params.abc <= 'my-param-value'", "Invalid comparator '<=' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'"},
	{"`params`.model >= 'LR'", "Invalid comparator '>=' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'"},
	{"params.a NOT LIKE 'x'", "Invalid comparator 'NOT LIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'"},
	{"params.a not  ilike 'x'", "Invalid comparator 'NOT ILIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'"},
	{"params.a REGEXP 'x'", "Invalid comparator 'REGEXP' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'"},
	{"tags.abc > 'my-tag-value'", "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}"},
	{"tags.abc ~ 'my-tag-value'", "Invalid comparator '~' not one of '{'!=', '=', 'LIKE', 'ILIKE'}"},
	{"attributes.status > 'my-tag-value'", "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'"},
	{"attributes.start_time LIKE 1234", "Invalid comparator 'LIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"},
	{"attributes.start_time ILIKE 1234", "Invalid comparator 'ILIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"},
	{"datasets.name > 'my-dataset-name'", "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"},
	// Values are all parsed before operators are checked.
	{"metrics.a ~ 1 AND params.b = 5", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 5"},
	{"metrics.a ~ 1 AND params.b > 'x'", "Invalid comparator '~' not one of '{'>', '>=', '!=', '=', '<', '<='}"},
	// Lists.
	{"attributes.status IN ('a')", "Only the 'run_id' attribute supports comparison with a list of quoted string values."},
	{"attributes.start_time IN (1)", "Expected numeric value type for numeric attribute: start_time. Found (1)"},
	{"run_id IN ()", "While parsing a list in the query, expected a non-empty list of string values, but got empty list"},
	{"run_id IN ( )", "While parsing a list in the query, expected a non-empty list of string values, but got empty list"},
	{"run_id IN (1, 2)", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 2)"},
	{"run_id IN ('a', None)", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ('a', None)"},
	{"run_id IN (1)", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1,)"},
	{"run_id IN (a, b)", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."},
	{"run_id IN ('a',,)", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."},
	{"run_id IN (('a'))", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."},
	{"run_id = ('a')", "Expected a quoted string value for attributes. Got value ('a')"},
	{"datasets.name != ('a')", "Expected a quoted string value for dataset attributes. Got value ('a')"},
	{"datasets.name IN ()", "While parsing a list in the query, expected a non-empty list of string values, but got empty list"},
}

func TestParseRunFilterErrors(t *testing.T) { checkErrors(t, ParseRunFilter, runErrors) }

func TestParseRunOrderBy(t *testing.T) {
	checkOrder(t, ParseRunOrderBy, []orderCase{
		{nil, nil},
		{[]string{"tags.noSuchTag"}, []OrderBy{asc(KeyTag, "noSuchTag")}},
		{[]string{"attributes.status"}, []OrderBy{asc(KeyAttribute, "status")}},
		{[]string{"attributes.start_time"}, []OrderBy{asc(KeyAttribute, "start_time")}},
		{[]string{"metrics.key1 asc"}, []OrderBy{asc(KeyMetric, "key1")}},
		{[]string{`metrics."key1"  desc`}, []OrderBy{desc(KeyMetric, "key1")}},
		{[]string{"params.my_param"}, []OrderBy{asc(KeyParam, "my_param")}},
		{[]string{"params.my_param aSc", "attributes.status  ASC"}, []OrderBy{asc(KeyParam, "my_param"), asc(KeyAttribute, "status")}},
		{[]string{"params.my_param", "attributes.status DESC"}, []OrderBy{asc(KeyParam, "my_param"), desc(KeyAttribute, "status")}},
		{[]string{"params.`my_param` DESC", "attributes.status DESC"}, []OrderBy{desc(KeyParam, "my_param"), desc(KeyAttribute, "status")}},
		{[]string{"tags.tag1    DESC"}, []OrderBy{desc(KeyTag, "tag1")}},
		{[]string{"metrics.`Mean Square Error`"}, []OrderBy{asc(KeyMetric, "Mean Square Error")}},
		{[]string{"metrics.`Mean Square Error` ASC"}, []OrderBy{asc(KeyMetric, "Mean Square Error")}},
		{[]string{"metrics.`Mean Square Error` DESC"}, []OrderBy{desc(KeyMetric, "Mean Square Error")}},
		{[]string{`tags."a.b" DESC`}, []OrderBy{desc(KeyTag, "a.b")}},
		{[]string{"`metrics.A` DESC"}, []OrderBy{desc(KeyMetric, "A")}}, // shlex unquotes it first, as in MLflow
		{[]string{"created DESC"}, []OrderBy{desc(KeyAttribute, "start_time")}},
		{[]string{"start_time", "run_name", "end_time", "run_id", "user_id", "artifact_uri"}, []OrderBy{
			asc(KeyAttribute, "start_time"), asc(KeyAttribute, "run_name"), asc(KeyAttribute, "end_time"),
			asc(KeyAttribute, "run_id"), asc(KeyAttribute, "user_id"), asc(KeyAttribute, "artifact_uri")}},
		{[]string{"metrics.a", "params.a", "tags.a"}, []OrderBy{asc(KeyMetric, "a"), asc(KeyParam, "a"), asc(KeyTag, "a")}},
	})
}

func TestParseRunOrderByErrors(t *testing.T) {
	checkOrderErrors(t, ParseRunOrderBy, []orderErrorCase{
		{[]string{"m.acc"}, "Invalid entity type 'm'. Valid values are " + entityTypes},
		{[]string{"acc"}, "Invalid attribute key 'acc' specified. Valid keys are '" + runOrderKeyS + "'"},
		{[]string{"attri.x"}, "Invalid entity type 'attri'. Valid values are " + entityTypes},
		{[]string{"`metrics.A"}, "Invalid order_by clause '`metrics.A'. Could not be parsed."},
		{[]string{"`metrics.A`"}, "Invalid entity type '`metrics'. Valid values are " + entityTypes},
		{[]string{"attribute.start"}, "Invalid attribute key 'start' specified. Valid keys are '" + runOrderKeyS + "'"},
		{[]string{"attribute.experiment_id"}, "Invalid attribute key 'experiment_id' specified. Valid keys are '" + runOrderKeyS + "'"},
		{[]string{"`run name`"}, "Invalid attribute key 'run name' specified. Valid keys are '" + runOrderKeyS + "'"},
		{[]string{"metrics.A != 1"}, "Invalid order_by clause 'metrics.A != 1'. Could not be parsed."},
		{[]string{"params.my_param "}, "Invalid order_by clause 'params.my_param '. Could not be parsed."},
		{[]string{" params.my_param"}, "Invalid order_by clause ' params.my_param'. Could not be parsed."},
		{[]string{"metrics.a DESC blah"}, "Invalid order_by clause 'metrics.a DESC blah'. Could not be parsed."},
		{[]string{"metrics.a AND"}, "Invalid order_by clause 'metrics.a AND'. Could not be parsed."},
		{[]string{""}, "Invalid order_by clause ''. Could not be parsed."},
		{[]string{"attribute.run_id ACS"}, "Invalid ordering key in order_by clause 'attribute.run_id ACS'."},
		{[]string{"attribute.run_id decs"}, "Invalid ordering key in order_by clause 'attribute.run_id decs'."},
		{[]string{"run name"}, "Invalid ordering key in order_by clause 'run name'."},
		{[]string{"timestamp"}, "Invalid attribute key 'timestamp' specified. Valid keys are '" + runOrderKeyS + "'"},
		{[]string{"datasets.name"}, "Invalid identifier type 'dataset'"},
		{[]string{"metrics.a", "metrics.a DESC"}, "`order_by` contains duplicate fields: ['metrics.a', 'metrics.a DESC']"},
		{[]string{"created", "start_time DESC"}, "`order_by` contains duplicate fields: ['created', 'start_time DESC']"},
		{[]string{"tags.`x`", `tags."x" ASC`}, "`order_by` contains duplicate fields: ['tags.`x`', 'tags.\"x\" ASC']"},
	})
}

func BenchmarkParseRunFilter(b *testing.B) {
	const filter = "metrics.rmse < 0.5 AND params.model = 'LinearRegression' AND tags.`mlflow.runName` LIKE 'train%' " +
		"AND attributes.status = 'FINISHED' AND run_id IN ('0a1b2c3d4e5f', 'ffeeddccbbaa') AND start_time > 1700000000000"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRunFilter(filter); err != nil {
			b.Fatal(err)
		}
	}
}
