package search

import (
	"unicode"
	"unicode/utf8"
)

// Like reports whether value matches the SQL LIKE pattern: % matches any run
// of characters (none included), _ matches exactly one character, every
// other character matches itself; there is no escape character. With
// caseInsensitive (ILIKE) characters compare under Unicode simple case
// folding. Characters are runes, not bytes.
//
// This is the semantics of PostgreSQL's LIKE without its backslash escape.
// SQLite differs: its LIKE ignores ASCII case unless
// PRAGMA case_sensitive_like is on, so a store must not hand LIKE to SQLite
// unchanged.
func Like(value, pattern string, caseInsensitive bool) bool {
	vi, pi := 0, 0
	starP, starV := -1, 0 // position after the last %, and where it resumes in value
	for vi < len(value) {
		if pi < len(pattern) {
			pr, pw := utf8.DecodeRuneInString(pattern[pi:])
			if pr == '%' {
				pi += pw
				starP, starV = pi, vi
				continue
			}
			vr, vw := utf8.DecodeRuneInString(value[vi:])
			if pr == '_' || pr == vr || (caseInsensitive && foldEq(pr, vr)) {
				pi += pw
				vi += vw
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, w := utf8.DecodeRuneInString(value[starV:]) // let the last % eat one more character
		starV += w
		vi, pi = starV, starP
	}
	for pi < len(pattern) && pattern[pi] == '%' {
		pi++
	}
	return pi == len(pattern)
}

// foldEq reports whether a and b are equal under simple case folding.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
