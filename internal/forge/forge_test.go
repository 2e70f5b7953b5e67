package forge

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posml/posml"
)

func readPayload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headers is a fake request header set; its get has http.Header.Get's
// signature for canonical names.
type headers map[string]string

func (h headers) get(name string) string { return h[name] }

func TestParsePush(t *testing.T) {
	tests := []struct {
		file string
		kind Kind
		want *Push
	}{
		{"gitlab_push.json", GitLab, &Push{
			Forge: GitLab, Ref: "refs/heads/main", Branch: "main",
			Before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
			After:  "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Repo:   "root/e2e-pipeline-iris",
			URLs: []string{
				"http://192.168.31.81:9091/root/e2e-pipeline-iris.git",
				"ssh://git@192.168.31.81:2225/root/e2e-pipeline-iris.git",
				"http://192.168.31.81:9091/root/e2e-pipeline-iris",
			},
		}},
		{"gitlab_delete.json", GitLab, &Push{
			Forge: GitLab, Ref: "refs/heads/feature/knn-5", Branch: "feature/knn-5",
			Before:  "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			After:   "0000000000000000000000000000000000000000",
			Deleted: true,
			Repo:    "ml/team-a/churn",
			URLs: []string{
				"https://gitlab.example.com/ml/team-a/churn.git",
				"git@gitlab.example.com:ml/team-a/churn.git",
				"https://gitlab.example.com/ml/team-a/churn",
			},
		}},
		{"github_push.json", GitHub, &Push{
			Forge: GitHub, Ref: "refs/heads/main", Branch: "main",
			Before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
			After:  "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
			Repo:   "Acme-ML/churn-model",
			URLs: []string{
				"https://github.com/Acme-ML/churn-model.git",
				"git@github.com:Acme-ML/churn-model.git",
				"git://github.com/Acme-ML/churn-model.git",
				"https://github.com/Acme-ML/churn-model",
			},
		}},
		{"github_delete.json", GitHub, &Push{
			Forge: GitHub, Ref: "refs/heads/experiment", Branch: "experiment",
			Before:  "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
			After:   "0000000000000000000000000000000000000000",
			Deleted: true,
			Repo:    "Acme-ML/churn-model",
			URLs: []string{
				"https://github.com/Acme-ML/churn-model.git",
				"git@github.com:Acme-ML/churn-model.git",
				"git://github.com/Acme-ML/churn-model.git",
				"https://github.com/Acme-ML/churn-model",
			},
		}},
		{"gitea_push.json", Gitea, &Push{
			Forge: Gitea, Ref: "refs/heads/develop", Branch: "develop",
			Before: "28e1879d029cb852e4844d9c718537df08844e03",
			After:  "bffeb74224043ba2feb48d137756c8a9331c449a",
			Repo:   "data-team/demand-forecast",
			URLs: []string{
				"https://gitea.example.com/data-team/demand-forecast.git",
				"ssh://git@gitea.example.com:2222/data-team/demand-forecast.git",
				"https://gitea.example.com/data-team/demand-forecast",
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParsePush(tt.kind, readPayload(t, tt.file))
			if err != nil {
				t.Fatalf("ParsePush: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePush(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestParsePushErrors(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		body string
		want error // matched with errors.Is
	}{
		{"gitlab tag push", GitLab, string(readPayload(t, "gitlab_tag_push.json")), ErrNotPush},
		{"gitlab merge request", GitLab, `{"object_kind":"merge_request","project":{"git_http_url":"https://h/p.git"}}`, ErrNotPush},
		{"not json", GitHub, `ref=refs/heads/main`, posml.ErrInvalid},
		{"no after", Gitea, `{"ref":"refs/heads/main","repository":{"clone_url":"https://h/p.git"}}`, posml.ErrInvalid},
		{"no url", GitHub, `{"ref":"refs/heads/main","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}`, posml.ErrInvalid},
		{"github ping", GitHub, string(readPayload(t, "github_ping.json")), posml.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePush(tt.kind, []byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePush = %+v, %v; want error %v", p, err, tt.want)
			}
		})
	}
}

func TestParsePushTagHasNoBranch(t *testing.T) {
	body := `{"ref":"refs/tags/v2","before":"0000000000000000000000000000000000000000","after":"82b3d5ae55f7080f1e6022629cdb57bfae7cccc7","repository":{"clone_url":"https://github.com/a/b.git"}}`
	p, err := ParsePush(GitHub, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.Branch != "" || p.Deleted {
		t.Errorf("tag push: Branch = %q, Deleted = %v; want \"\", false", p.Branch, p.Deleted)
	}
}

func hexSig(body []byte, secret string) string { return hex.EncodeToString(Sign(body, secret)) }

func TestVerify(t *testing.T) {
	body := readPayload(t, "github_push.json")
	const secret = "s3cret-webhook-Token"
	tests := []struct {
		name   string
		kind   Kind
		h      headers
		secret string
		want   error
	}{
		{"gitlab ok", GitLab, headers{HeaderGitLabToken: secret}, secret, nil},
		{"gitlab wrong", GitLab, headers{HeaderGitLabToken: secret + "x"}, secret, ErrBadSignature},
		{"gitlab prefix only", GitLab, headers{HeaderGitLabToken: secret[:5]}, secret, ErrBadSignature},
		{"gitlab missing", GitLab, headers{}, secret, ErrNoSignature},
		{"gitlab no secret configured", GitLab, headers{HeaderGitLabToken: ""}, "", ErrNoSecret},
		{"github ok", GitHub, headers{HeaderGitHubSig256: "sha256=" + hexSig(body, secret)}, secret, nil},
		{"github wrong secret", GitHub, headers{HeaderGitHubSig256: "sha256=" + hexSig(body, "other")}, secret, ErrBadSignature},
		{"github no prefix", GitHub, headers{HeaderGitHubSig256: hexSig(body, secret)}, secret, ErrBadSignature},
		{"github sha1 header only", GitHub, headers{"X-Hub-Signature": "sha1=abc"}, secret, ErrNoSignature},
		{"github not hex", GitHub, headers{HeaderGitHubSig256: "sha256=zz"}, secret, ErrBadSignature},
		{"github a gitlab token", GitHub, headers{HeaderGitLabToken: secret}, secret, ErrNoSignature},
		{"gitea ok", Gitea, headers{HeaderGiteaSignature: hexSig(body, secret)}, secret, nil},
		{"gitea wrong", Gitea, headers{HeaderGiteaSignature: hexSig(body[1:], secret)}, secret, ErrBadSignature},
		{"gitea with sha256= prefix", Gitea, headers{HeaderGiteaSignature: "sha256=" + hexSig(body, secret)}, secret, ErrBadSignature},
		{"forgejo ok", Gitea, headers{HeaderForgejoSig: hexSig(body, secret)}, secret, nil},
		{"gitea github header ok", Gitea, headers{HeaderGitHubSig256: "sha256=" + hexSig(body, secret)}, secret, nil},
		{"gitea missing", Gitea, headers{}, secret, ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.kind, tt.h.get, body, tt.secret)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyTamperedBody(t *testing.T) {
	body := readPayload(t, "gitea_push.json")
	sig := hexSig(body, "k")
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] ^= 1
	if err := Verify(Gitea, headers{HeaderGiteaSignature: sig}.get, tampered, "k"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(tampered body) = %v; want ErrBadSignature", err)
	}
}

func TestParse(t *testing.T) {
	const secret = "hook-secret"
	gh := readPayload(t, "github_push.json")
	ping := readPayload(t, "github_ping.json")
	gl := readPayload(t, "gitlab_push.json")
	tag := readPayload(t, "gitlab_tag_push.json")
	gt := readPayload(t, "gitea_push.json")
	tests := []struct {
		name       string
		kind       Kind
		h          headers
		body       []byte
		wantErr    error
		wantBranch string
	}{
		{"github push", GitHub, headers{HeaderGitHubEvent: "push", HeaderGitHubSig256: "sha256=" + hexSig(gh, secret)}, gh, nil, "main"},
		{"github ping", GitHub, headers{HeaderGitHubEvent: "ping", HeaderGitHubSig256: "sha256=" + hexSig(ping, secret)}, ping, ErrNotPush, ""},
		{"github bad signature first", GitHub, headers{HeaderGitHubEvent: "ping", HeaderGitHubSig256: "sha256=00"}, ping, ErrBadSignature, ""},
		{"gitlab push", GitLab, headers{HeaderGitLabEvent: "Push Hook", HeaderGitLabToken: secret}, gl, nil, "main"},
		{"gitlab system hook push", GitLab, headers{HeaderGitLabEvent: "System Hook", HeaderGitLabToken: secret}, gl, nil, "main"},
		{"gitlab tag push", GitLab, headers{HeaderGitLabEvent: "Tag Push Hook", HeaderGitLabToken: secret}, tag, ErrNotPush, ""},
		{"gitlab tag payload without event header", GitLab, headers{HeaderGitLabToken: secret}, tag, ErrNotPush, ""},
		{"gitea push", Gitea, headers{HeaderGiteaEvent: "push", HeaderGiteaSignature: hexSig(gt, secret)}, gt, nil, "develop"},
		{"gitea create event", Gitea, headers{HeaderGiteaEvent: "create", HeaderGiteaSignature: hexSig(gt, secret)}, gt, ErrNotPush, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.kind, tt.h.get, tt.body, secret)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse = %+v, %v; want %v", p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Branch != tt.wantBranch {
				t.Errorf("Branch = %q; want %q", p.Branch, tt.wantBranch)
			}
		})
	}
}

func TestRepoKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/Acme-ML/churn-model.git", "github.com/acme-ml/churn-model"},
		{"https://x-access-token:ghp_abc@github.com/Acme-ML/churn-model", "github.com/acme-ml/churn-model"},
		{"git@github.com:Acme-ML/churn-model.git", "github.com/acme-ml/churn-model"},
		{"ssh://git@192.168.31.81:2225/root/e2e-pipeline-iris.git", "192.168.31.81/root/e2e-pipeline-iris"},
		{"http://192.168.31.81:9091/root/e2e-pipeline-iris/", "192.168.31.81/root/e2e-pipeline-iris"},
		{"git://github.com/a/b.git", "github.com/a/b"},
		{"GitLab.Example.com:ml/team-a/churn.git", "gitlab.example.com/ml/team-a/churn"},
		{"/srv/git/project.git", ""},
		{"file:///srv/git/project.git", ""},
		{"./relative/dir", ""},
		{"https://host.only/", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RepoKey(tt.in); got != tt.want {
			t.Errorf("RepoKey(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestPushMatches(t *testing.T) {
	p, err := ParsePush(GitLab, readPayload(t, "gitlab_push.json"))
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]bool{
		"http://192.168.31.81:2225/root/e2e-pipeline-iris.git":            true, // the seed's clone-with-HTTP URL
		"ssh://git@192.168.31.81:2225/root/e2e-pipeline-iris.git":         true,
		"http://oauth2:glpat-x@192.168.31.81:9091/root/E2E-Pipeline-Iris": true,
		"http://192.168.31.81:9091/root/other.git":                        false,
		"http://192.168.31.82:9091/root/e2e-pipeline-iris.git":            false,
		"/srv/git/e2e-pipeline-iris":                                      false,
	} {
		if got := p.Matches(url); got != want {
			t.Errorf("Matches(%q) = %v; want %v", url, got, want)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"gitlab": GitLab, "GitHub": GitHub, "gitea": Gitea, "forgejo": Gitea} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseKind("bitbucket"); posml.KindOf(err) != posml.KindInvalid {
		t.Errorf("ParseKind(bitbucket) = %v; want a KindInvalid error", err)
	}
}
