package search

import "github.com/posml/posml"

// EntityType says what a Clause or an OrderBy refers to.
type EntityType int

// The entity types. The zero value is not a valid entity type.
const (
	KeyMetric    EntityType = iota + 1 // latest value of a metric (runs, logged models)
	KeyParam                           // a param value
	KeyTag                             // a tag value
	KeyAttribute                       // a column of the searched entity
	KeyDataset                         // a dataset input of a run (name, digest, context)
)

// String returns MLflow's name for the entity type ("metric", "parameter",
// "tag", "attribute", "dataset").
func (t EntityType) String() string {
	switch t {
	case KeyMetric:
		return "metric"
	case KeyParam:
		return "parameter"
	case KeyTag:
		return "tag"
	case KeyAttribute:
		return "attribute"
	case KeyDataset:
		return "dataset"
	default:
		return "unknown"
	}
}

// The comparison operators a Clause can carry in its Op field. Parsing
// normalises case and inner spacing, so "like" and "not  in" arrive as OpLike
// and OpNotIn.
const (
	OpEq        = "="
	OpNe        = "!="
	OpGt        = ">"
	OpGe        = ">="
	OpLt        = "<"
	OpLe        = "<="
	OpLike      = "LIKE"
	OpILike     = "ILIKE"
	OpIn        = "IN"
	OpNotIn     = "NOT IN"
	OpIsNull    = "IS NULL"     // tags and params of runs, tags of experiments; no value
	OpIsNotNull = "IS NOT NULL" // tags and params of runs, tags of experiments; no value
)

// Clause is one comparison of a filter. A filter's clauses are ANDed.
//
// Exactly one value field is meaningful, chosen by Op and IsNumeric:
//   - Op is OpIn or OpNotIn: List (possibly empty, see below).
//   - Op is OpIsNull or OpIsNotNull: none.
//   - IsNumeric: Num. Str then holds the literal as written ("1.5e3"), which
//     lets an integer column be compared exactly.
//   - otherwise: Str, a string compared with =, !=, LIKE or ILIKE.
//
// A row that lacks the key (a run without that metric, param or tag)
// matches no clause, != included, except IS NULL.
type Clause struct {
	Type      EntityType
	Key       string   // canonical key; see the doc of each Parse function
	Op        string   // one of the Op constants
	Str       string   // string value, or the numeric literal when IsNumeric
	Num       float64  // numeric value when IsNumeric
	List      []string // values of IN / NOT IN
	IsNumeric bool     // the key is numeric: metrics and numeric attributes
}

// OrderBy is one parsed order_by entry.
type OrderBy struct {
	Type EntityType
	Key  string // canonical key; see the doc of each Parse function
	Desc bool   // false means ascending, MLflow's default
}

// invalid builds the error every function of this package returns: an
// *posml.Error of kind KindInvalid (INVALID_PARAMETER_VALUE) whose message is
// MLflow's.
func invalid(msg string) error { return posml.Errorf(posml.KindInvalid, msg) }
