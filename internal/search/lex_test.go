package search

import (
	"regexp"
	"testing"
)

// sqlparse's patterns for quoted strings. Go's regexp picks the match a
// backtracking engine (Python's) would pick, so it is the reference for the
// linear-time matcher of the lexer.
var quoteRef = map[byte]*regexp.Regexp{
	'\'': regexp.MustCompile(`^'(?:''|\\\\|\\'|[^'])*'`),
	'"':  regexp.MustCompile(`^"(?:""|\\\\|\\"|[^"])*"`),
	'`':  regexp.MustCompile("^`(?:``|[^`])*`"),
}

// checkQuoted compares lexer.quoted with the reference at every quote of s.
func checkQuoted(t *testing.T, s string) {
	t.Helper()
	l := &lexer{s: s}
	for i := 0; i < len(s); i++ {
		re, ok := quoteRef[s[i]]
		if !ok {
			continue
		}
		want := 0
		if m := re.FindStringIndex(s[i:]); m != nil {
			want = m[1]
		}
		if got := l.quoted(i); got != want {
			t.Fatalf("quoted(%q, %d) = %d, want %d", s, i, got, want)
		}
	}
}

// TestQuoted checks every string of up to 7 characters over an alphabet of
// quotes, backslash and a letter.
func TestQuoted(t *testing.T) {
	const alphabet = "'\"`\\a"
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		checkQuoted(t, string(prefix))
		if n == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			gen(append(prefix, alphabet[i]), n-1)
		}
	}
	gen(nil, 7)
}

func TestLexCoversLongHostileInput(t *testing.T) {
	// Unclosed quotes and parentheses must not make lexing quadratic; this
	// would take minutes if each rescanned the rest of the input.
	b := make([]byte, 0, 400000)
	for len(b) < cap(b) {
		b = append(b, "(('\"`\\x"...)
	}
	toks := lex(string(b))
	n := 0
	for _, tk := range toks {
		n += len(tk.text)
	}
	if n != len(b) {
		t.Fatalf("tokens cover %d bytes of %d", n, len(b))
	}
	if _, err := ParseRunFilter(string(b)); err == nil {
		t.Fatal("want an error")
	}
}
