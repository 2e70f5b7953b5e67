package search

import (
	"strconv"
	"strings"
	"unicode"
)

// comparison is one grouped comparison of a filter: left op right, or
// left IS [NOT] NULL (right is then the zero token).
type comparison struct {
	left  token
	op    string // normalised: upper case, single inner spaces
	right token
}

// grammar is one flavour of MLflow's filter language: the parts that differ
// between runs, experiments, registered models, model versions and logged
// models.
type grammar struct {
	allowNull  bool                                     // accept "<ident> IS [NOT] NULL"
	multiMsg   func(filter string) string               // more than one statement
	invalidMsg func(filter string, bad []string) string // tokens outside comparisons
	// clause resolves the identifier and the value of one comparison.
	clause func(c comparison) (Clause, error)
	// check validates the operator of a parsed clause and may finish it. It
	// runs once every clause has been parsed: MLflow parses the whole filter
	// before its store looks at the operators, and the first error wins.
	check func(c *Clause) error
}

// parse runs the common pipeline: lex, count statements, group comparisons,
// reject stray tokens, then resolve and check each comparison.
func (g *grammar) parse(filter string) ([]Clause, error) {
	if filter == "" {
		return nil, nil
	}
	toks := lex(filter)
	if statements(toks) > 1 {
		return nil, invalid(g.multiMsg(filter))
	}
	cmps, bad := group(toks, g.allowNull)
	if len(bad) > 0 {
		return nil, invalid(g.invalidMsg(filter, bad))
	}
	if len(cmps) == 0 {
		return nil, nil
	}
	clauses := make([]Clause, len(cmps))
	for i, c := range cmps {
		cl, err := g.clause(c)
		if err != nil {
			return nil, err
		}
		clauses[i] = cl
	}
	for i := range clauses {
		if err := g.check(&clauses[i]); err != nil {
			return nil, err
		}
	}
	return clauses, nil
}

// statements counts the statements sqlparse would see: a semicolon ends one,
// and the next starts at the first non-blank token after it.
func statements(toks []token) int {
	n, pending := 1, false
	for _, t := range toks {
		if pending && t.kind != tkSpace {
			n++
			pending = false
		}
		if t.kind == tkSemi {
			pending = true
		}
	}
	return n
}

// group finds the comparisons among toks, as sqlparse groups them, and
// returns the text of every other token except AND.
func group(toks []token, allowNull bool) (cmps []comparison, bad []string) {
	nt := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tkSpace {
			nt = append(nt, t)
		}
	}
	for i := 0; i < len(nt); {
		t := nt[i]
		if t.kind == tkIdent {
			switch {
			case i+2 < len(nt) && isKw(nt[i+1], "IN") && nt[i+2].kind == tkParen:
				cmps = append(cmps, comparison{left: t, op: OpIn, right: nt[i+2]})
				i += 3
				continue
			case i+3 < len(nt) && isKw(nt[i+1], "NOT") && isKw(nt[i+2], "IN") && nt[i+3].kind == tkParen:
				cmps = append(cmps, comparison{left: t, op: OpNotIn, right: nt[i+3]})
				i += 4
				continue
			case allowNull && i+2 < len(nt) && isKw(nt[i+1], "IS") && isKw(nt[i+2], "NULL"):
				cmps = append(cmps, comparison{left: t, op: OpIsNull})
				i += 3
				continue
			case allowNull && i+3 < len(nt) && isKw(nt[i+1], "IS") && isKw(nt[i+2], "NOT") && isKw(nt[i+3], "NULL"):
				cmps = append(cmps, comparison{left: t, op: OpIsNotNull})
				i += 4
				continue
			}
		}
		if operand(t) && i+2 < len(nt) && nt[i+1].kind == tkOp && operand(nt[i+2]) {
			cmps = append(cmps, comparison{left: t, op: normOp(nt[i+1].text), right: nt[i+2]})
			i += 3
			continue
		}
		if !isKw(t, "AND") {
			bad = append(bad, t.text)
		}
		i++
	}
	return cmps, bad
}

// operand reports whether sqlparse accepts t on either side of a comparison.
func operand(t token) bool {
	switch t.kind {
	case tkIdent, tkString, tkNumber, tkHex, tkParen:
		return true
	}
	return isKw(t, "NULL")
}

func isKw(t token, word string) bool { return t.kind == tkKeyword && strings.EqualFold(t.text, word) }

func normOp(s string) string { return strings.Join(strings.Fields(strings.ToUpper(s)), " ") }

// Shared messages.

func multiExprMsg(filter string) string {
	return "Search filter contained multiple expression " + pyStr(filter) + ". Provide AND-ed expression list."
}

// invalidClausesQuoted is the runs form: each clause in single quotes.
func invalidClausesQuoted(_ string, bad []string) string {
	return "Invalid clause(s) in filter string: '" + strings.Join(bad, "', '") + "'"
}

// invalidClausesPlain is the experiments and registry form.
func invalidClausesPlain(_ string, bad []string) string {
	return "Invalid clause(s) in filter string: " + strings.Join(bad, ", ")
}

func notIdentifierErr(t token) error {
	return invalid("Invalid comparison clause. Expected 'Identifier' found '" + t.text + "'")
}

// Identifier helpers, after MLflow's SearchUtils.

// isQuoted reports whether s is at least two characters long and both starts
// and ends with q.
func isQuoted(s string, q byte) bool { return len(s) >= 2 && s[0] == q && s[len(s)-1] == q }

func trimBackticks(s string) string {
	if isQuoted(s, '`') {
		return s[1 : len(s)-1]
	}
	return s
}

// stripQuotes removes one pair of single or double quotes around s, if any.
// MLflow does not unescape what is inside.
func stripQuotes(s string) string {
	if isQuoted(s, '\'') || isQuoted(s, '"') {
		return s[1 : len(s)-1]
	}
	return s
}

// quotedValue returns the string a value token stands for: a quoted string
// or quoted identifier, with its quotes removed.
func quotedValue(t token) (string, error) {
	if isQuoted(t.text, '\'') || isQuoted(t.text, '"') {
		return t.text[1 : len(t.text)-1], nil
	}
	return "", invalid("Parameter value is either not quoted or unidentified quote types used for string value " +
		t.text + ". Use either single or double quotes.")
}

// isStringToken reports whether MLflow takes t as a string value: a
// single-quoted string or any identifier (which must then be quoted).
func isStringToken(t token) bool { return t.kind == tkString || t.kind == tkIdent }

// numberValue sets c's numeric value from a number token.
func numberValue(c *Clause, t token) {
	c.IsNumeric = true
	c.Str = t.text
	c.Num, _ = strconv.ParseFloat(t.text, 64) // the lexer only makes valid floats; ±Inf on overflow
}

// parseList reads a parenthesised list of quoted strings as MLflow does with
// Python's ast.literal_eval, then keeps only the values Python's str.islower
// accepts (MLflow drops the others because run IDs are lower case and MySQL's
// IN ignores case).
func parseList(t token) ([]string, error) {
	vals, err := literalTuple(t.text)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if pyIsLower(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// pyIsLower is Python's str.islower: at least one cased character, and no
// upper or title case one.
func pyIsLower(s string) bool {
	lower := false
	for _, r := range s {
		switch {
		case unicode.IsUpper(r), unicode.IsTitle(r):
			return false
		case unicode.IsLower(r):
			lower = true
		}
	}
	return lower
}

const (
	msgIllFormedList = "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."
	msgEmptyList     = "While parsing a list in the query, expected a non-empty list of string values, but got empty list"
)

// literalTuple parses "('a', "b", 'c')" the way ast.literal_eval does for
// the inputs that matter: string items (adjacent literals concatenated),
// separated by commas, with an optional trailing comma.
func literalTuple(s string) ([]string, error) {
	p := &pyLit{s: s}
	if !p.eat('(') {
		return nil, invalid(msgIllFormedList)
	}
	var items []string // reprs of every item, for the "different type" message
	var strs []string  // the string items
	allStrings := true
	p.space()
	for !p.peek(')') {
		val, isStr, ok := p.item()
		if !ok {
			return nil, invalid(msgIllFormedList)
		}
		if isStr {
			items = append(items, pyStr(val))
			strs = append(strs, val)
		} else {
			items = append(items, val)
			allStrings = false
		}
		p.space()
		if !p.eat(',') {
			break
		}
		p.space()
	}
	p.space()
	if !p.eat(')') || p.i != len(s) {
		return nil, invalid(msgIllFormedList)
	}
	if len(items) == 0 {
		return nil, invalid(msgEmptyList)
	}
	if !allStrings {
		repr := "(" + strings.Join(items, ", ")
		if len(items) == 1 {
			repr += ","
		}
		return nil, invalid("While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: " + repr + ")")
	}
	return strs, nil
}

// pyLit is a tiny reader of Python literals.
type pyLit struct {
	s string
	i int
}

func (p *pyLit) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

func (p *pyLit) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

func (p *pyLit) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r\f\v", p.s[p.i]) >= 0 {
		p.i++
	}
}

// item reads one tuple item: adjacent string literals (returned joined,
// isStr true) or a number, True, False or None (returned as written).
func (p *pyLit) item() (val string, isStr, ok bool) {
	if p.peek('\'') || p.peek('"') {
		var b strings.Builder
		for p.peek('\'') || p.peek('"') {
			s, ok := p.str()
			if !ok {
				return "", false, false
			}
			b.WriteString(s)
			p.space()
		}
		return b.String(), true, true
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(",) \t\n\r\f\v", p.s[p.i]) < 0 {
		p.i++
	}
	lit := p.s[start:p.i]
	switch lit {
	case "True", "False", "None":
		return lit, false, true
	}
	if _, err := strconv.ParseFloat(strings.ReplaceAll(lit, "_", ""), 64); err == nil && lit != "" &&
		!strings.ContainsAny(lit, "xXnNiI") {
		return lit, false, true
	}
	return "", false, false
}

// str reads one quoted string literal with Python's common escapes.
func (p *pyLit) str() (string, bool) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), true
		case c == '\n':
			return "", false
		case c == '\\' && p.i+1 < len(p.s):
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\n':
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", false
}
