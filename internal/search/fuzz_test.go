package search

import (
	"errors"
	"strings"
	"testing"

	"github.com/posml/posml"
)

var filterParsers = map[string]func(string) ([]Clause, error){
	"run":             ParseRunFilter,
	"experiment":      ParseExperimentFilter,
	"registeredModel": ParseRegisteredModelFilter,
	"modelVersion":    ParseModelVersionFilter,
	"loggedModel":     ParseLoggedModelFilter,
}

var orderParsers = map[string]func([]string) ([]OrderBy, error){
	"run":             ParseRunOrderBy,
	"experiment":      ParseExperimentOrderBy,
	"registeredModel": ParseRegisteredModelOrderBy,
	"modelVersion":    ParseModelVersionOrderBy,
}

// FuzzParse feeds any string to every parser: none may panic, every error
// must be an INVALID_PARAMETER_VALUE *posml.Error, and every clause must be
// well formed.
func FuzzParse(f *testing.F) {
	for _, cases := range [][]validCase{runValid, experimentValid, registeredModelValid, modelVersionValid, loggedModelValid} {
		for _, c := range cases {
			f.Add(c.filter)
		}
	}
	for _, cases := range [][]errorCase{runErrors, experimentErrors, registeredModelErrors, modelVersionErrors, loggedModelErrors} {
		for _, c := range cases {
			f.Add(c.in)
		}
	}
	f.Add("metrics.`a")
	f.Add(`params."x`)
	f.Add("((('a'")
	f.Add("run_id IN ('\\")
	f.Add(EncodePageToken(42))
	f.Fuzz(func(t *testing.T, s string) {
		var b strings.Builder
		for _, tok := range lex(s) {
			if tok.text == "" {
				t.Fatalf("lex(%q): empty token", s)
			}
			b.WriteString(tok.text)
		}
		if b.String() != s {
			t.Fatalf("lex(%q) does not cover the input: %q", s, b.String())
		}
		if len(s) <= 256 {
			checkQuoted(t, s)
		}
		for name, parse := range filterParsers {
			clauses, err := parse(s)
			checkErr(t, name, s, err)
			for _, c := range clauses {
				checkClause(t, name, s, c)
			}
		}
		for name, parse := range orderParsers {
			_, err := parse([]string{s})
			checkErr(t, name+" order_by", s, err)
		}
		_, err := ParseLoggedModelOrderBy(s, true)
		checkErr(t, "logged model order_by", s, err)
		off, err := DecodePageToken(s)
		checkErr(t, "page token", s, err)
		if off < 0 {
			t.Errorf("DecodePageToken(%q) = %d", s, off)
		}
		if !Like(s, "%", false) || !Like(s, s, false) && !strings.ContainsAny(s, "%_") {
			t.Errorf("Like(%q, ...) is wrong", s)
		}
		Like(s, s, true)
	})
}

func checkErr(t *testing.T, what, in string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var pe *posml.Error
	if !errors.As(err, &pe) || pe.Kind != posml.KindInvalid || pe.Msg == "" {
		t.Fatalf("%s(%q): error %#v is not an invalid-kind *posml.Error", what, in, err)
	}
}

func checkClause(t *testing.T, what, in string, c Clause) {
	t.Helper()
	bad := func(why string) { t.Fatalf("%s(%q): clause %+v: %s", what, in, c, why) }
	if c.Type < KeyMetric || c.Type > KeyDataset {
		bad("bad type")
	}
	switch c.Op {
	case OpEq, OpNe, OpLike, OpILike:
		if c.List != nil {
			bad("scalar operator with a list")
		}
		if !c.IsNumeric && c.Type == KeyMetric {
			bad("string metric")
		}
	case OpGt, OpGe, OpLt, OpLe:
		if !c.IsNumeric {
			bad("order operator on a string")
		}
	case OpIn, OpNotIn:
		if c.List == nil || c.IsNumeric || c.Str != "" {
			bad("list operator without a list")
		}
	case OpIsNull, OpIsNotNull:
		if c.Type != KeyTag && c.Type != KeyParam || c.Str != "" || c.List != nil {
			bad("bad null test")
		}
	default:
		bad("unknown operator")
	}
	if c.IsNumeric && (c.Op == OpLike || c.Op == OpILike) {
		bad("LIKE on a number")
	}
}
