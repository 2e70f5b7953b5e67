package forge

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/posml/posml"
)

// Push is what a push webhook reports.
type Push struct {
	Forge Kind
	// Ref is the pushed ref, "refs/heads/main"; Branch is its branch name,
	// "" when the ref is not a branch (a tag).
	Ref    string
	Branch string
	// Before and After are the ref's old and new commits. After is the
	// all-zero id when the branch was deleted (Deleted is then true), and
	// Before is all zeros for a new branch.
	Before  string
	After   string
	Deleted bool
	// Repo is the repository's full name ("group/sub/project").
	Repo string
	// URLs are the repository's clone and web URLs, as the payload gives
	// them: HTTP(S), SSH (ssh:// or scp-like) and the web page.
	URLs []string
}

// Matches reports whether the push is for the repository at repoURL, which
// is any URL a project may have been added with: HTTP(S), ssh://,
// scp-like git@host:path, with or without credentials and ".git". Only host
// and path are compared (see the package comment).
func (p *Push) Matches(repoURL string) bool {
	want := RepoKey(repoURL)
	if want == "" {
		return false
	}
	for _, u := range p.URLs {
		if RepoKey(u) == want {
			return true
		}
	}
	return false
}

// RepoKey reduces a repository URL to "host/path": the host name in lower
// case without port, and the path in lower case without leading and
// trailing slashes and without a final ".git". Scheme and credentials are
// dropped. It returns "" for something that is not a remote URL (a local
// path, file://).
func RepoKey(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		// scp-like syntax: [user@]host:path, where no slash precedes the colon.
		colon := strings.IndexByte(raw, ':')
		slash := strings.IndexByte(raw, '/')
		if colon <= 0 || (slash >= 0 && slash < colon) {
			return ""
		}
		host := raw[:colon]
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			host = host[at+1:]
		}
		return key(host, raw[colon+1:])
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "file" || u.Host == "" {
		return ""
	}
	return key(u.Hostname(), u.Path)
}

func key(host, path string) string {
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.Trim(path, "/")
	if host == "" || path == "" {
		return ""
	}
	return strings.ToLower(host) + "/" + strings.ToLower(path)
}

// zeroSHA reports whether id is git's all-zero object id (SHA-1 or SHA-256).
func zeroSHA(id string) bool {
	return id != "" && strings.Trim(id, "0") == ""
}

// The parts of the three payloads posml reads. GitHub's and Gitea's push
// payloads share a shape; GitLab's is its own.
type githubPush struct {
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		GitURL   string `json:"git_url"`
		HTMLURL  string `json:"html_url"`
		URL      string `json:"url"`
	} `json:"repository"`
}

type gitlabPush struct {
	ObjectKind string `json:"object_kind"`
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Project    struct {
		PathWithNamespace string `json:"path_with_namespace"`
		WebURL            string `json:"web_url"`
		GitHTTPURL        string `json:"git_http_url"`
		GitSSHURL         string `json:"git_ssh_url"`
		HTTPURL           string `json:"http_url"`
		SSHURL            string `json:"ssh_url"`
	} `json:"project"`
	Repository struct {
		Homepage   string `json:"homepage"`
		URL        string `json:"url"`
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
	} `json:"repository"`
}

// ParsePush extracts the push from the body of a push webhook of forge k.
// It does not verify the delivery (Parse does). A payload of another GitLab
// event kind returns ErrNotPush; one that is not JSON or lacks the ref or
// the new commit is a KindInvalid error.
func ParsePush(k Kind, body []byte) (*Push, error) {
	p := &Push{Forge: k}
	switch k {
	case GitLab:
		var g gitlabPush
		if err := json.Unmarshal(body, &g); err != nil {
			return nil, invalid(k, err)
		}
		if g.ObjectKind != "" && g.ObjectKind != "push" {
			return nil, ErrNotPush // tag_push, merge_request, ...
		}
		p.Ref, p.Before, p.After = g.Ref, g.Before, g.After
		p.Deleted = zeroSHA(g.After)
		p.Repo = g.Project.PathWithNamespace
		p.URLs = nonEmpty(g.Project.GitHTTPURL, g.Project.GitSSHURL, g.Project.WebURL,
			g.Project.HTTPURL, g.Project.SSHURL,
			g.Repository.GitHTTPURL, g.Repository.GitSSHURL, g.Repository.Homepage, g.Repository.URL)
	case GitHub, Gitea:
		var g githubPush
		if err := json.Unmarshal(body, &g); err != nil {
			return nil, invalid(k, err)
		}
		p.Ref, p.Before, p.After = g.Ref, g.Before, g.After
		p.Deleted = g.Deleted || zeroSHA(g.After)
		p.Repo = g.Repository.FullName
		p.URLs = nonEmpty(g.Repository.CloneURL, g.Repository.SSHURL, g.Repository.GitURL,
			g.Repository.HTMLURL, g.Repository.URL)
	default:
		return nil, fmt.Errorf("parse push: unknown forge %q", k)
	}
	if p.Ref == "" || p.After == "" {
		return nil, &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("%s push payload has no ref or after commit", k)}
	}
	if len(p.URLs) == 0 {
		return nil, &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("%s push payload names no repository URL", k)}
	}
	p.Branch, _ = strings.CutPrefix(p.Ref, "refs/heads/")
	if p.Branch == p.Ref {
		p.Branch = ""
	}
	return p, nil
}

func invalid(k Kind, err error) error {
	return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("%s push payload is not valid JSON", k), Err: err}
}

// nonEmpty returns the distinct non-empty strings of ss, in order.
func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s == "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}
