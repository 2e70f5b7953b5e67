package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer splits a filter or order_by string the way sqlparse (which MLflow
// uses) splits it, closely enough that the accepted language and the error
// messages match: identifiers are dotted chains of words, `backticked` or
// "double-quoted" parts; values are 'single-quoted' strings, numbers or
// parenthesised lists; comparison operators are runs of <>=~! or the words
// LIKE, ILIKE, RLIKE, REGEXP with an optional NOT before them.

type tokKind uint8

const (
	tkSpace   tokKind = iota // whitespace
	tkIdent                  // word, `quoted`, "quoted", or a dotted chain of them
	tkString                 // 'single quoted'
	tkNumber                 // integer or float literal
	tkHex                    // 0x1F: a number, but not a numeric value for MLflow
	tkOp                     // comparison operator
	tkKeyword                // AND OR NOT IN IS NULL TRUE FALSE BETWEEN
	tkParen                  // a balanced ( ... ), kept whole
	tkSemi                   // ;
	tkOther                  // anything else: punctuation, a stray quote, ...
)

type token struct {
	kind tokKind
	text string
}

// keywords are the words that never start an identifier.
var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "IN": true, "IS": true,
	"NULL": true, "TRUE": true, "FALSE": true, "BETWEEN": true,
}

// opWords are the words sqlparse lexes as comparison operators.
var opWords = map[string]bool{"LIKE": true, "ILIKE": true, "RLIKE": true, "REGEXP": true}

// lex splits s into tokens; their texts concatenate back to s. It runs in
// time linear in len(s), whatever s holds.
func lex(s string) []token {
	l := &lexer{s: s}
	toks := make([]token, 0, 16)
	for i := 0; i < len(s); {
		n, k := l.scan(i)
		toks = append(toks, token{kind: k, text: s[i : i+n]})
		i += n
	}
	return toks
}

// lexer holds the input and, computed on first use, where each quoted
// string and each parenthesis ends.
type lexer struct {
	s      string
	quotes [3][]int32 // per quote character, see quoteEnds
	parens map[int]int
}

// quoteChars are the quote characters, indexed as lexer.quotes.
const quoteChars = "'\"`"

// quoted returns the length of the string quoted with s[i] that starts at i,
// or 0 if it is never closed. The grammar is sqlparse's:
//
//	'(''|\\\\|\\'|[^'])*'   "(""|\\\\|\\"|[^"])*"   `(``|[^`])*`
//
// and the match is the one Python's backtracking regexp engine finds.
func (l *lexer) quoted(i int) int {
	q := strings.IndexByte(quoteChars, l.s[i])
	if l.quotes[q] == nil {
		l.quotes[q] = quoteEnds(l.s, l.s[i])
	}
	if e := l.quotes[q][i+1]; e >= 0 {
		return int(e) + 1 - i
	}
	return 0
}

// quoteEnds computes, for every position p of s, where a backtracking
// matcher of the body of a q-quoted string that starts at p puts the
// closing quote (-1: nowhere). At p the matcher tries, in order: a doubled
// quote, then (for ' and ") an escaped backslash or quote, then any other
// character, then the closing quote. Each alternative continues at a later
// position, so one pass from the end settles them all.
func quoteEnds(s string, q byte) []int32 {
	end := make([]int32, len(s)+2)
	end[len(s)] = -1
	end[len(s)+1] = -1
	escapes := q != '`'
	for p := len(s) - 1; p >= 0; p-- {
		c := s[p]
		var next byte
		if p+1 < len(s) {
			next = s[p+1]
		}
		switch {
		case c == q:
			end[p] = int32(p)
			if next == q && end[p+2] >= 0 {
				end[p] = end[p+2]
			}
		case escapes && c == '\\' && p+1 < len(s) && (next == '\\' || next == q):
			end[p] = end[p+2]
			if end[p] < 0 {
				end[p] = end[p+1]
			}
		default:
			end[p] = end[p+1]
		}
	}
	return end
}

// paren returns the length of the balanced parenthesis that starts at i,
// quotes respected, or 0 if it is never closed.
func (l *lexer) paren(i int) int {
	if l.parens == nil {
		l.parens = map[int]int{}
		var open []int
		for j := 0; j < len(l.s); {
			switch l.s[j] {
			case '(':
				open = append(open, j)
			case ')':
				if len(open) > 0 {
					l.parens[open[len(open)-1]] = j + 1
					open = open[:len(open)-1]
				}
			case '\'', '"', '`':
				if n := l.quoted(j); n > 0 {
					j += n
					continue
				}
			}
			j++
		}
	}
	if e, ok := l.parens[i]; ok {
		return e - i
	}
	return 0
}

// scan returns the length and kind of the token at s[i:]; the length is > 0.
func (l *lexer) scan(i int) (int, tokKind) {
	s := l.s
	r, w := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsSpace(r):
		j := i + w
		for j < len(s) {
			r, w := utf8.DecodeRuneInString(s[j:])
			if !unicode.IsSpace(r) {
				break
			}
			j += w
		}
		return j - i, tkSpace
	case r == '\'':
		if n := l.quoted(i); n > 0 {
			return n, tkString
		}
		return 1, tkOther
	case r == '"' || r == '`':
		if n := l.scanIdent(i); n > 0 {
			return n, tkIdent
		}
		return 1, tkOther
	case r == '(':
		if n := l.paren(i); n > 0 {
			return n, tkParen
		}
		return 1, tkOther
	case r == ';':
		return 1, tkSemi
	case strings.ContainsRune("<>=~!", r):
		j := i + 1
		for j < len(s) && strings.IndexByte("<>=~!", s[j]) >= 0 {
			j++
		}
		return j - i, tkOp
	case r == '-' || r == '.' || isDigit(r):
		if n, k := scanNumber(s, i); n > 0 {
			return n, k
		}
		if isDigit(r) { // 1abc: a word, as in sqlparse
			return l.scanIdent(i), tkIdent
		}
		return 1, tkOther
	case isWordStart(r):
		j := i + w
		for j < len(s) {
			r, w := utf8.DecodeRuneInString(s[j:])
			if !isWordRune(r) {
				break
			}
			j += w
		}
		if j < len(s) && s[j] == '.' { // "in.x" is a name, as in sqlparse
			return l.scanIdent(i), tkIdent
		}
		up := strings.ToUpper(s[i:j])
		switch {
		case opWords[up]:
			return j - i, tkOp
		case up == "NOT":
			if n := notOp(s, j); n > 0 {
				return j + n - i, tkOp
			}
			return j - i, tkKeyword
		case keywords[up]:
			return j - i, tkKeyword
		}
		return l.scanIdent(i), tkIdent
	}
	return w, tkOther
}

// notOp returns the length of the whitespace and operator word that follow
// NOT at s[j:] when they form NOT LIKE (ILIKE, RLIKE, REGEXP), else 0.
func notOp(s string, j int) int {
	k := j
	for k < len(s) {
		r, w := utf8.DecodeRuneInString(s[k:])
		if !unicode.IsSpace(r) {
			break
		}
		k += w
	}
	if k == j {
		return 0
	}
	e := k
	for e < len(s) {
		r, w := utf8.DecodeRuneInString(s[e:])
		if !isWordRune(r) {
			break
		}
		e += w
	}
	if !opWords[strings.ToUpper(s[k:e])] {
		return 0
	}
	return e - j
}

// scanIdent returns the length of the identifier at s[i:]: parts joined by
// dots, each a word, a `backticked` or a "double-quoted" string. It returns 0
// when the first part is an unterminated quote.
func (l *lexer) scanIdent(i int) int {
	n := l.identPart(i)
	if n == 0 {
		return 0
	}
	j := i + n
	for j+1 < len(l.s) && l.s[j] == '.' {
		m := l.identPart(j + 1)
		if m == 0 {
			break
		}
		j += 1 + m
	}
	return j - i
}

// identPart returns the length of one identifier part at s[j:], or 0.
func (l *lexer) identPart(j int) int {
	s := l.s
	if j >= len(s) {
		return 0
	}
	if s[j] == '`' || s[j] == '"' {
		return l.quoted(j)
	}
	k := j
	for k < len(s) {
		r, w := utf8.DecodeRuneInString(s[k:])
		if !isWordRune(r) || (k == j && (r == '$' || r == '#')) {
			break
		}
		k += w
	}
	return k - j
}

// scanNumber returns the length and kind of the number at s[i:], or 0 when
// there is none, or when a word character follows it (1abc is a name).
func scanNumber(s string, i int) (int, tokKind) {
	j := i
	if s[j] == '-' {
		j++
	}
	k := tkNumber
	if j+2 < len(s) && s[j] == '0' && (s[j+1] == 'x' || s[j+1] == 'X') && isHexDigit(s[j+2]) {
		j += 2
		for j < len(s) && isHexDigit(s[j]) {
			j++
		}
		k = tkHex
	} else {
		d := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		digits := j > d
		if j < len(s) && s[j] == '.' {
			f := j + 1
			for f < len(s) && s[f] >= '0' && s[f] <= '9' {
				f++
			}
			if digits || f > j+1 {
				digits = true
				j = f
			}
		}
		if !digits {
			return 0, 0
		}
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			e := j + 1
			if e < len(s) && s[e] == '-' {
				e++
			}
			if e < len(s) && s[e] >= '0' && s[e] <= '9' {
				for e < len(s) && s[e] >= '0' && s[e] <= '9' {
					e++
				}
				j = e
			}
		}
	}
	if j < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[j:]); isWordRune(r) {
			return 0, 0
		}
	}
	return j - i, k
}

func isDigit(r rune) bool     { return r >= '0' && r <= '9' }
func isHexDigit(b byte) bool  { return isDigit(rune(b)) || (b|0x20 >= 'a' && b|0x20 <= 'f') }
func isWordStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isWordRune(r rune) bool {
	return r == '_' || r == '$' || r == '#' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}
