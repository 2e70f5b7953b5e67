package gitrepo

import (
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces a secret in messages.
const redacted = "xxxxx"

// Redact returns a repository URL fit for logs and errors: the password of
// a URL with one becomes "xxxxx" (https://user:xxxxx@host/...), and the
// user of an http(s) URL without a password does too, since forges accept
// a token in that place (https://<token>@github.com/...). SSH user names
// (git@host:path, ssh://git@host/...) and local paths are kept.
func Redact(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// An unparsable URL may still carry credentials; scrub by pattern.
		return scrub(raw)
	}
	if u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	} else if s := strings.ToLower(u.Scheme); s == "http" || s == "https" || s == "ftp" || s == "ftps" {
		u.User = url.User(redacted)
	} else {
		return raw
	}
	return u.String()
}

// userinfoRE matches the credentials of a URL inside free text.
var userinfoRE = regexp.MustCompile(`(?i)\b((?:https?|ftps?|git|ssh)://)[^/\s@'"]*:[^/\s@'"]*@|\b((?:https?|ftps?)://)[^/\s@'":]+@`)

// scrub removes credentials from text (git's stderr): any user:password@
// of a URL, the user@ of an http(s) URL, and each of secrets, which may be
// URLs with credentials (replaced by their redacted form) or raw tokens.
func scrub(text string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(s, "://") {
			if r := Redact(s); r != s {
				text = strings.ReplaceAll(text, s, r)
			}
			continue
		}
		if len(s) >= 4 { // shorter strings are too likely to be ordinary words
			text = strings.ReplaceAll(text, s, redacted)
		}
	}
	return userinfoRE.ReplaceAllStringFunc(text, func(m string) string {
		scheme := m[:strings.Index(m, "://")+3]
		return scheme + redacted + "@"
	})
}
