package search

import (
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/posml/posml"
)

// Clause builders for the tables.

func str(t EntityType, key, op, v string) Clause { return Clause{Type: t, Key: key, Op: op, Str: v} }

func num(t EntityType, key, op, lit string) Clause {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		panic(err)
	}
	return Clause{Type: t, Key: key, Op: op, Str: lit, Num: f, IsNumeric: true}
}

func list(t EntityType, key, op string, vs ...string) Clause {
	if vs == nil {
		vs = []string{}
	}
	return Clause{Type: t, Key: key, Op: op, List: vs}
}

func null(t EntityType, key, op string) Clause { return Clause{Type: t, Key: key, Op: op} }

type validCase struct {
	filter string
	want   []Clause
}

type errorCase struct {
	in   string
	want string // the exact message
}

// checkValid runs parse over cases that must succeed.
func checkValid(t *testing.T, parse func(string) ([]Clause, error), cases []validCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			got, err := parse(tc.filter)
			if err != nil {
				t.Fatalf("parse(%q) error: %v", tc.filter, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("parse(%q) mismatch (-want +got):\n%s", tc.filter, diff)
			}
		})
	}
}

// wantInvalid checks that err is MLflow's INVALID_PARAMETER_VALUE with msg.
func wantInvalid(t *testing.T, in string, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%q: got no error, want %q", in, msg)
	}
	var pe *posml.Error
	if !errors.As(err, &pe) || pe.Kind != posml.KindInvalid || !errors.Is(err, posml.ErrInvalid) {
		t.Fatalf("%q: error %#v is not a posml.KindInvalid *posml.Error", in, err)
	}
	if got := err.Error(); got != msg {
		t.Errorf("%q:\n got  %s\n want %s", in, got, msg)
	}
}

func checkErrors(t *testing.T, parse func(string) ([]Clause, error), cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parse(tc.in)
			if got != nil {
				t.Errorf("parse(%q) = %+v, want nil clauses", tc.in, got)
			}
			wantInvalid(t, tc.in, err, tc.want)
		})
	}
}

type orderCase struct {
	in   []string
	want []OrderBy
}

func checkOrder(t *testing.T, parse func([]string) ([]OrderBy, error), cases []orderCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(pyList(tc.in...), func(t *testing.T) {
			got, err := parse(tc.in)
			if err != nil {
				t.Fatalf("parse(%q) error: %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("parse(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

type orderErrorCase struct {
	in   []string
	want string
}

func checkOrderErrors(t *testing.T, parse func([]string) ([]OrderBy, error), cases []orderErrorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(pyList(tc.in...), func(t *testing.T) {
			got, err := parse(tc.in)
			if got != nil {
				t.Errorf("parse(%q) = %+v, want nil", tc.in, got)
			}
			wantInvalid(t, pyList(tc.in...), err, tc.want)
		})
	}
}

func asc(t EntityType, key string) OrderBy  { return OrderBy{Type: t, Key: key} }
func desc(t EntityType, key string) OrderBy { return OrderBy{Type: t, Key: key, Desc: true} }
