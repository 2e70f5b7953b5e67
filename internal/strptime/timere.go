package strptime

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// directiveRE holds the expression of each directive as CPython 3.11's
// _strptime.TimeRE builds it in the C locale. A `\d` stands for Python's \d,
// which matches any Unicode decimal digit; compile rewrites it to \p{Nd}.
var directiveRE = map[rune]string{
	'd': `(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])`,
	'f': `(?P<f>[0-9]{1,6})`,
	'H': `(?P<H>2[0-3]|[0-1]\d|\d)`,
	'I': `(?P<I>1[0-2]|0[1-9]|[1-9])`,
	'G': `(?P<G>\d\d\d\d)`,
	'j': `(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`,
	'm': `(?P<m>1[0-2]|0[1-9]|[1-9])`,
	'M': `(?P<M>[0-5]\d|\d)`,
	'S': `(?P<S>6[0-1]|[0-5]\d|\d)`,
	'U': `(?P<U>5[0-3]|[0-4]\d|\d)`,
	'W': `(?P<W>5[0-3]|[0-4]\d|\d)`,
	'w': `(?P<w>[0-6])`,
	'u': `(?P<u>[1-7])`,
	'V': `(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)`,
	'y': `(?P<y>\d\d)`,
	'Y': `(?P<Y>\d\d\d\d)`,
	'z': `(?P<z>[+-]\d\d:?[0-5]\d(:?[0-5]\d(\.\d{1,6})?)?|(?-i:Z))`,
	'A': `(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)`,
	'a': `(?P<a>mon|tue|wed|thu|fri|sat|sun)`,
	'B': `(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)`,
	'b': `(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)`,
	'p': `(?P<p>am|pm)`,
	// Python adds the host's tzname; posml's result must not depend on the
	// host, so only the two names every host accepts remain.
	'Z': `(?P<Z>utc|gmt)`,
	'%': `%`,
}

// composite holds the directives that stand for a whole C-locale format.
var composite = map[rune]string{
	'c': "%a %b %d %H:%M:%S %Y",
	'x': "%m/%d/%y",
	'X': "%H:%M:%S",
}

// pySpace matches one character for which Python's str.isspace is true, as
// Python's \s does in a str pattern (Go's \s lacks \v and the Unicode spaces).
const pySpace = `[\t-\r\x1c- \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]`

// pyRegexSpecial lists the characters _strptime escapes in a format before it
// reads the directives (Go's regexp treats the same ones as special).
const pyRegexSpecial = `\.^$*+?(){}[]|`

func isPySpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1c && r <= ' ', r == 0x85, r == 0xa0, r == 0x1680,
		r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// token is one piece of a format after _strptime's escaping step.
type token struct {
	r       rune
	escaped bool // a regexp special character, which Python prefixes with a backslash
	space   bool // a run of whitespace, which Python replaces with \s+
}

func tokenize(format string) []token {
	var ts []token
	for _, r := range format {
		switch {
		case isPySpace(r):
			if n := len(ts); n > 0 && ts[n-1].space {
				continue
			}
			ts = append(ts, token{space: true})
		case strings.ContainsRune(pyRegexSpecial, r):
			ts = append(ts, token{r: r, escaped: true})
		default:
			ts = append(ts, token{r: r})
		}
	}
	return ts
}

// translate appends the expression for format to b, as TimeRE.pattern does,
// recording the named groups it adds. orig is the format the user gave, for
// error messages.
func translate(b *strings.Builder, format, orig string, names *[]string) error {
	ts := tokenize(format)
	for i := 0; i < len(ts); i++ {
		t := ts[i]
		switch {
		case t.space:
			b.WriteString(pySpace + "+")
			continue
		case t.escaped || t.r != '%':
			b.WriteString(regexp.QuoteMeta(string(t.r)))
			continue
		}
		i++
		if i == len(ts) {
			return fmt.Errorf("stray %% in format '%s'", orig)
		}
		d := ts[i]
		if d.space || d.escaped {
			// Python sees the backslash it inserted and reports the '%'.
			return fmt.Errorf("'%%' is a bad directive in format '%s'", orig)
		}
		if d.r == ':' && i+1 < len(ts) && ts[i+1].r == 'z' && !ts[i+1].escaped && !ts[i+1].space {
			i++ // %:z, read like %z
			d = ts[i]
		}
		if sub, ok := composite[d.r]; ok {
			if err := translate(b, sub, orig, names); err != nil {
				return err
			}
			continue
		}
		re, ok := directiveRE[d.r]
		if !ok {
			return fmt.Errorf("'%c' is a bad directive in format '%s'", d.r, orig)
		}
		if d.r != '%' {
			name := string(d.r)
			for _, n := range *names {
				if n == name {
					return duplicateError(name, orig)
				}
			}
			*names = append(*names, name)
		}
		b.WriteString(strings.ReplaceAll(re, `\d`, `\p{Nd}`))
	}
	return nil
}

// duplicateError reports a directive that occurs twice, where Python's re
// module would fail with "redefinition of group name".
func duplicateError(name, format string) error {
	msg := fmt.Sprintf("'%%%s' is used more than once in format '%s'", name, format)
	for _, c := range "cxX" {
		if strings.Contains(format, "%"+string(c)) {
			msg += fmt.Sprintf(" (%%%c stands for %s)", c, composite[c])
			break
		}
	}
	return errors.New(msg)
}
