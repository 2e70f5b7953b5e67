package search

import "strings"

// parseOrderString splits one order_by entry, "<identifier> [ASC|DESC]", as
// SearchUtils._parse_order_by_string does. With a direction, the identifier
// comes back unquoted the way shlex.split unquotes it (backticks count as
// double quotes); without one, it comes back as written. Leading or
// trailing blanks make the entry unparseable, as they do in MLflow.
func parseOrderString(s string) (ident string, desc bool, err error) {
	bad := func() (string, bool, error) {
		return "", false, invalid("Invalid order_by clause '" + s + "'. Could not be parsed.")
	}
	toks := lex(s)
	switch {
	case len(toks) == 1 && toks[0].kind == tkIdent:
		if strings.EqualFold(toks[0].text, "timestamp") && toks[0].text != "timestamp" {
			return bad()
		}
		return toks[0].text, false, nil
	case len(toks) == 3 && toks[0].kind == tkIdent && toks[1].kind == tkSpace &&
		toks[2].kind == tkIdent && !strings.ContainsAny(toks[2].text, ".`\""):
	default:
		return bad()
	}
	dir := strings.ToLower(toks[2].text)
	if strings.EqualFold(toks[0].text, "timestamp") && (toks[0].text != "timestamp" || dir != "asc" && dir != "desc") {
		// sqlparse lexes timestamp as a builtin name that takes no alias, so
		// MLflow accepts it only as "timestamp [ASC|DESC]", in lower case.
		return bad()
	}
	switch dir {
	case "asc":
	case "desc":
		desc = true
	default:
		return "", false, invalid("Invalid ordering key in order_by clause '" + s + "'.")
	}
	return shlexWord(strings.ReplaceAll(toks[0].text, "`", `"`)), desc, nil
}

// shlexWord removes shell quoting from one word, as shlex.split does in
// POSIX mode.
func shlexWord(s string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case quote != 0 && c == quote:
			quote = 0
		case quote == '"' && c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0:
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// duplicateOrderErr is MLflow's message for an order_by list that names the
// same field twice.
func duplicateOrderErr(clauses []string) error {
	return invalid("`order_by` contains duplicate fields: " + pyList(clauses...))
}
