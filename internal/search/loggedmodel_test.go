package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const lmKeys = "{'name', 'model_id', 'model_type', 'status', 'source_run_id', 'creation_timestamp', 'creation_time', 'last_updated_timestamp', 'last_updated_time'}"

var loggedModelValid = []validCase{
	{"", nil},
	{"name = 'm'", []Clause{str(KeyAttribute, "name", "=", "m")}},
	{"metrics.loss > 0.1 AND params.lr = 0.01", []Clause{num(KeyMetric, "loss", ">", "0.1"), str(KeyParam, "lr", "=", "0.01")}},
	{"params.lr = '0.01'", []Clause{str(KeyParam, "lr", "=", "0.01")}},
	{`tags.t = "v"`, []Clause{str(KeyTag, "t", "=", "v")}},
	{"tags.`mlflow.source` LIKE 'x%'", []Clause{str(KeyTag, "mlflow.source", "LIKE", "x%")}},
	{"creation_time > 5", []Clause{num(KeyAttribute, "creation_timestamp", ">", "5")}},
	{"attributes.last_updated_time <= 5", []Clause{num(KeyAttribute, "last_updated_timestamp", "<=", "5")}},
	{"creation_timestamp >= 1 AND last_updated_timestamp < 2", []Clause{
		num(KeyAttribute, "creation_timestamp", ">=", "1"), num(KeyAttribute, "last_updated_timestamp", "<", "2")}},
	{"status = 'READY'", []Clause{str(KeyAttribute, "status", "=", "READY")}},
	{"model_id IN ('m-abc', 'm-DEF')", []Clause{list(KeyAttribute, "model_id", "IN", "m-abc")}},
	{"attributes.model_type like 'sk%'", []Clause{str(KeyAttribute, "model_type", "LIKE", "sk%")}},
	{"metric.acc >= 0.9 and source_run_id != 'r'", []Clause{num(KeyMetric, "acc", ">=", "0.9"), str(KeyAttribute, "source_run_id", "!=", "r")}},
}

func TestParseLoggedModelFilter(t *testing.T) {
	checkValid(t, ParseLoggedModelFilter, loggedModelValid)
}

const lmOps = ". Expected one of ('=', '!=', 'LIKE', 'ILIKE')."

var loggedModelErrors = []errorCase{
	{"foo.x = 'a'", "Invalid entity type: 'foo'. Expected one of ['attributes', 'metrics', 'params', 'tags']."},
	{"datasets.name = 'a'", "Invalid entity type: 'datasets'. Expected one of ['attributes', 'metrics', 'params', 'tags']."},
	{"experiment_id = '1'", "Invalid attribute key 'experiment_id' specified. Valid keys are '" + lmKeys + "'"},
	{"metrics.loss ~ 1", "Invalid comparison operator for metrics.loss: '~'" + lmOps},
	{"params.lr > '1'", "Invalid comparison operator for params.lr: '>'" + lmOps},
	{"status > 'x'", "Invalid comparison operator for attributes.status: '>'" + lmOps},
	{"creation_time LIKE 5", "Invalid comparison operator for attributes.creation_timestamp: 'LIKE'" + lmOps},
	{"metrics.loss > 'a'", "Expected numeric value type for metric. Found 'a'"},
	{"creation_timestamp > 'a'", "Expected numeric value type for numeric attribute: creation_timestamp. Found 'a'"},
	{"params.lr IN ('a')", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a')"},
	{"params.lr = bare", "Parameter value is either not quoted or unidentified quote types used for string value bare. Use either single or double quotes."},
	{"name = 'a' OR name = 'b'", `Invalid filter string: "name = 'a' OR name = 'b'". Expected a list of comparisons separated by 'AND' (e.g. 'metrics.loss > 0.1 AND params.lr = 0.01').`},
	{"name = 'a'; name = 'b'", `Invalid filter string: "name = 'a'; name = 'b'". Expected a single SQL expression.`},
	{"1 > metrics.x", "Invalid comparison clause. Expected 'Identifier' found '1'"},
}

func TestParseLoggedModelFilterErrors(t *testing.T) {
	checkErrors(t, ParseLoggedModelFilter, loggedModelErrors)
}

func TestParseLoggedModelOrderBy(t *testing.T) {
	for _, tc := range []struct {
		field string
		asc   bool
		want  OrderBy
	}{
		{"metrics.loss", false, desc(KeyMetric, "loss")},
		{"metrics.a.b", true, asc(KeyMetric, "a.b")},
		{"creation_time", true, asc(KeyAttribute, "creation_timestamp")},
		{"last_updated_timestamp", false, desc(KeyAttribute, "last_updated_timestamp")},
		{" name ", true, asc(KeyAttribute, "name")},
	} {
		got, err := ParseLoggedModelOrderBy(tc.field, tc.asc)
		if err != nil {
			t.Errorf("ParseLoggedModelOrderBy(%q) error: %v", tc.field, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseLoggedModelOrderBy(%q) mismatch (-want +got):\n%s", tc.field, diff)
		}
	}
	for _, tc := range []errorCase{
		{"", "`field_name` in the `order_by` clause must be specified."},
		{"params.x", "Invalid order by field name: params.x. Only metrics are supported."},
		{"experiment_id", "Invalid order by field name: experiment_id"},
	} {
		_, err := ParseLoggedModelOrderBy(tc.in, true)
		wantInvalid(t, tc.in, err, tc.want)
	}
}
