package forge

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/posml/posml"
)

// Kind names a forge, as it appears in the webhook route
// /api/posml/hooks/{kind}.
type Kind string

// The forges whose push webhooks posml understands. Forgejo sends Gitea's
// payload and headers (plus its own), so it uses Gitea.
const (
	GitLab Kind = "gitlab"
	GitHub Kind = "github"
	Gitea  Kind = "gitea"
)

// Kinds lists the forges in the order the documentation names them.
func Kinds() []Kind { return []Kind{GitLab, GitHub, Gitea} }

// ParseKind returns the forge named s ("gitlab", "github", "gitea" or
// "forgejo", any case).
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "gitlab":
		return GitLab, nil
	case "github":
		return GitHub, nil
	case "gitea", "forgejo":
		return Gitea, nil
	}
	return "", &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("unknown forge %q: want gitlab, github or gitea", s)}
}

// Errors of Verify and Parse. The HTTP edge answers ErrNoSecret,
// ErrNoSignature and ErrBadSignature with 401 or 403, ErrNotPush with a 2xx
// ("ignored", so that the forge does not retry it), and anything else (a
// payload that does not parse) with 400.
var (
	// ErrNoSecret: posml has no webhook secret for the forge or project, so
	// no delivery can be verified.
	ErrNoSecret = errors.New("no webhook secret is configured")
	// ErrNoSignature: the delivery carries no token or signature header.
	ErrNoSignature = errors.New("webhook delivery has no secret token or signature header")
	// ErrBadSignature: the token or signature does not match the secret.
	ErrBadSignature = errors.New("webhook secret token or signature does not match")
	// ErrNotPush: a verified delivery of another event (GitHub's ping, a
	// tag push, a merge request, ...).
	ErrNotPush = errors.New("webhook event is not a branch push")
)

// Header looks up a request header by its canonical name; http.Header.Get
// fits.
type Header func(name string) string

// Headers that carry the secret and the event name.
const (
	HeaderGitLabToken    = "X-Gitlab-Token"
	HeaderGitLabEvent    = "X-Gitlab-Event"
	HeaderGitHubSig256   = "X-Hub-Signature-256"
	HeaderGitHubEvent    = "X-Github-Event"
	HeaderGiteaSignature = "X-Gitea-Signature"
	HeaderGiteaEvent     = "X-Gitea-Event"
	HeaderForgejoSig     = "X-Forgejo-Signature"
	HeaderForgejoEvent   = "X-Forgejo-Event"
)

// Verify checks that a delivery of forge k was sent by someone who knows
// secret. GitLab sends the secret itself in X-Gitlab-Token, compared in
// constant time; GitHub signs the body with HMAC-SHA256 in
// X-Hub-Signature-256 ("sha256=<hex>"); Gitea signs it the same way in
// X-Gitea-Signature (bare hex), and newer Gitea and Forgejo also send
// X-Forgejo-Signature and GitHub's header, any of which is accepted.
func Verify(k Kind, header Header, body []byte, secret string) error {
	if secret == "" {
		return ErrNoSecret
	}
	switch k {
	case GitLab:
		got := header(HeaderGitLabToken)
		if got == "" {
			return ErrNoSignature
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			return ErrBadSignature
		}
		return nil
	case GitHub:
		return verifyHMAC(header(HeaderGitHubSig256), "sha256=", body, secret)
	case Gitea:
		if sig := header(HeaderGiteaSignature); sig != "" {
			return verifyHMAC(sig, "", body, secret)
		}
		if sig := header(HeaderForgejoSig); sig != "" {
			return verifyHMAC(sig, "", body, secret)
		}
		return verifyHMAC(header(HeaderGitHubSig256), "sha256=", body, secret)
	}
	return fmt.Errorf("verify webhook: unknown forge %q", k)
}

// verifyHMAC compares sig, hex after prefix, with HMAC-SHA256(secret, body).
func verifyHMAC(sig, prefix string, body []byte, secret string) error {
	if sig == "" {
		return ErrNoSignature
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), prefix)
	if !ok {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrBadSignature
	}
	if !hmac.Equal(got, Sign(body, secret)) {
		return ErrBadSignature
	}
	return nil
}

// Sign returns HMAC-SHA256(secret, body), the signature GitHub and Gitea
// send (hex-encoded). Tests and the CLI's webhook test use it.
func Sign(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// Event returns the event name of a delivery as the forge's header gives
// it ("Push Hook", "push", "ping", ...), "" when the header is missing.
func Event(k Kind, header Header) string {
	switch k {
	case GitLab:
		return header(HeaderGitLabEvent)
	case GitHub:
		return header(HeaderGitHubEvent)
	case Gitea:
		if e := header(HeaderGiteaEvent); e != "" {
			return e
		}
		if e := header(HeaderForgejoEvent); e != "" {
			return e
		}
		return header(HeaderGitHubEvent)
	}
	return ""
}

// isPushEvent reports whether a header event name is a push. An empty name
// (a proxy dropped the header) is left to the payload to decide.
func isPushEvent(k Kind, event string) bool {
	switch event {
	case "":
		return true
	case "Push Hook", "System Hook": // GitLab; a system hook's payload says which kind
		return k == GitLab
	case "push":
		return k != GitLab
	}
	return false
}

// Parse verifies a delivery and returns the push it reports. It returns
// ErrNotPush (after a successful verification) for other events and for
// pushes of tags or other refs that are not branches.
func Parse(k Kind, header Header, body []byte, secret string) (*Push, error) {
	if err := Verify(k, header, body, secret); err != nil {
		return nil, err
	}
	if !isPushEvent(k, Event(k, header)) {
		return nil, ErrNotPush
	}
	p, err := ParsePush(k, body)
	if err != nil {
		return nil, err
	}
	if p.Branch == "" {
		return nil, ErrNotPush
	}
	return p, nil
}
