package datamart

import (
	"testing"
	"time"
)

// MySQL's text protocol gives every value as []byte; its type names come
// from go-sql-driver/mysql. No MySQL server runs in the tests, so the
// mapping is checked here.
func TestMySQLValues(t *testing.T) {
	for _, tc := range []struct {
		typeName string
		raw      any
		want     string
	}{
		{"BIGINT", []byte("-42"), "int64 -42"},
		{"UNSIGNED INT", []byte("7"), "int64 7"},
		{"TINYINT", int64(1), "int64 1"},
		{"DECIMAL", []byte("12.50"), "float64 12.5"},
		{"DOUBLE", float64(0.25), "float64 0.25"},
		{"VARCHAR", []byte("héllo"), "string héllo"},
		{"TEXT", "s", "string s"},
		{"DATETIME", []byte("2026-01-02 03:04:05.5"), "timestamp 2026-01-02T03:04:05.5Z"},
		{"DATETIME", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "timestamp 2026-01-02T03:04:05Z"},
		{"DATE", []byte("2026-01-02"), "timestamp 2026-01-02T00:00:00Z"},
		{"BOOL", []byte("1"), "bool true"},
		{"JSON", []byte(`{"a":1}`), `string {"a":1}`},
		{"INT", nil, "int64 null"},
	} {
		typ, ok := sqlTypeOf(tc.typeName)
		if !ok {
			t.Fatalf("sqlTypeOf(%q): unknown", tc.typeName)
		}
		v, err := fromDriver(typ, tc.raw)
		if err != nil {
			t.Errorf("fromDriver(%s, %v): %v", typ, tc.raw, err)
			continue
		}
		got := string(typ) + " "
		switch {
		case v.IsNull():
			got += "null"
		case typ == Int64:
			got += itoa(v.Int64())
		case typ == Float64:
			got += string(appendFloat(nil, v.Double()))
		case typ == Bool:
			got += map[bool]string{true: "true", false: "false"}[v.Boolean()]
		case typ == Timestamp:
			got += time.UnixMicro(v.Int64()).UTC().Format(time.RFC3339Nano)
		default:
			got += string(v.ByteArray())
		}
		if got != tc.want {
			t.Errorf("%s %v = %s; want %s", tc.typeName, tc.raw, got, tc.want)
		}
	}
	if _, err := fromDriver(Int64, []byte("x")); err == nil {
		t.Error("fromDriver(int64, x): no error")
	}
}

func itoa(n int64) string { return string(appendFloat(nil, float64(n))) }
