package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// MLflow's messages embed Python reprs of strings, lists, sets and decoded
// JSON. These helpers print them the way CPython does. Python sets have no
// stable order, so sets print in the order MLflow's source lists them.

// pyStr returns repr(s) for a Python str.
func pyStr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0x7f && !unicode.IsPrint(r) && r != ' ':
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyBytes returns repr(b) for a Python bytes value.
func pyBytes(p []byte) string {
	q := byte('\'')
	if bytes.IndexByte(p, '\'') >= 0 && bytes.IndexByte(p, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteString("b")
	b.WriteByte(q)
	for _, c := range p {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == q:
			b.WriteByte('\\')
			b.WriteByte(q)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pySeq returns the repr of a list, set or tuple of strings.
func pySeq(open, close string, items []string) string {
	var b strings.Builder
	b.WriteString(open)
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyStr(s))
	}
	if open == "(" && len(items) == 1 {
		b.WriteString(",")
	}
	b.WriteString(close)
	return b.String()
}

func pyList(items ...string) string  { return pySeq("[", "]", items) }
func pySet(items ...string) string   { return pySeq("{", "}", items) }
func pyTuple(items ...string) string { return pySeq("(", ")", items) }

// pyJSON returns repr(json.loads(data)), or false if data is not one JSON
// value. Object keys keep their order, as in a Python dict; a repeated key
// keeps its first position and last value.
func pyJSON(data []byte) (string, bool) {
	if !json.Valid(data) {
		return "", false
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	s, err := pyJSONValue(d)
	return s, err == nil
}

func pyJSONValue(d *json.Decoder) (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", err
	}
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			var items []string
			for d.More() {
				s, err := pyJSONValue(d)
				if err != nil {
					return "", err
				}
				items = append(items, s)
			}
			_, err := d.Token()
			return "[" + strings.Join(items, ", ") + "]", err
		}
		var keys []string
		vals := map[string]string{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return "", err
			}
			k, _ := kt.(string)
			s, err := pyJSONValue(d)
			if err != nil {
				return "", err
			}
			if _, seen := vals[k]; !seen {
				keys = append(keys, k)
			}
			vals[k] = s
		}
		if _, err := d.Token(); err != nil {
			return "", err
		}
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = pyStr(k) + ": " + vals[k]
		}
		return "{" + strings.Join(items, ", ") + "}", nil
	case string:
		return pyStr(v), nil
	case json.Number:
		return pyNumber(string(v)), nil
	case bool:
		if v {
			return "True", nil
		}
		return "False", nil
	default:
		return "None", nil
	}
}

// pyNumber returns the repr of the number json.loads reads from lit: an int
// for an integer literal, else a float.
func pyNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		return strings.TrimPrefix(lit, "+")
	}
	f, _ := strconv.ParseFloat(lit, 64)
	return pyFloat(f)
}

// pyFloat returns repr(f) for a Python float.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyStrOf returns str(v) for a decoded JSON value given as raw JSON: the
// content of a string, the repr of anything else.
func pyStrOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	r, _ := pyJSON(raw)
	return r
}
