package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/notify"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/projects"
	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/sqlstore"
)

func init() { register(newProjectCmd) }

func newProjectCmd(e *env) *cobra.Command {
	var cf clientFlags
	c := &cobra.Command{
		Use:   "project",
		Short: "Manage the projects a posml server schedules",
		Long: `Manage the projects of a posml server: git repositories whose pipelines it
runs. The server keeps its own clone of each, validates every new commit of
the branch it follows (as posml validate does) and runs only valid commits.

Every subcommand talks to the server at --url, else $POSML_URL, else
` + defaultServerURL + `.`,
	}
	cf.add(c, true)
	c.AddCommand(newProjectAddCmd(e, &cf), newProjectListCmd(e, &cf), newProjectShowCmd(e, &cf),
		newProjectActionCmd(e, &cf, "sync", "Fetch the branch now and validate a new head commit"),
		newProjectActionCmd(e, &cf, "pause", "Stop scheduling the project's pipelines"),
		newProjectActionCmd(e, &cf, "resume", "Schedule the project's pipelines again"),
		newProjectSetCmd(e, &cf), newProjectRemoveCmd(e, &cf))
	return c
}

// readSecretFile reads a secret from a file, or from stdin for "-",
// without its trailing newline.
func readSecretFile(e *env, path, what string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", &usageError{fmt.Errorf("%s: %w", what, err)}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func newProjectAddCmd(e *env, cf *clientFlags) *cobra.Command {
	var (
		branch, name, username, tokenFile, keyFile, secretFile string
		notify                                                 []string
	)
	c := &cobra.Command{
		Use:   "add GIT-URL|PATH",
		Short: "Register a repository as a project",
		Long: `Register a git repository (an https:// or ssh:// URL, git@host:path, or a path
on the server's machine) as a project. The server clones it, validates the
head of --branch and, when it is valid, makes it the active commit. The
project is named --name, else the config's proj_name, else the repository's
name.

Credentials for a private repository are read from files (never from the
command line, where ps would show them) and stored on the server, which
never shows them again: --token-file (an HTTPS access token; "-" reads
stdin) or --ssh-key-file (an SSH private key). --webhook-secret-file sets the
secret the project's push webhooks are signed with.`,
		Example: `  posml project add ./iris
  posml project add https://gitlab.example.com/ml/iris.git --branch main --token-file ~/.iris-token
  posml project add git@github.com:ml/iris.git --ssh-key-file ~/.ssh/posml_deploy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			req := restapi.AddProject{Repo: args[0], Branch: branch, Name: name, Username: username, NotifyURLs: notify}
			if !strings.Contains(req.Repo, "://") && !strings.Contains(req.Repo, "@") {
				if abs, err := filepath.Abs(req.Repo); err == nil {
					if _, err := os.Stat(abs); err == nil {
						req.Repo = abs // the server resolves paths from its own directory
					}
				}
			}
			if tokenFile != "" && keyFile != "" {
				return &usageError{fmt.Errorf("give --token-file or --ssh-key-file, not both")}
			}
			if tokenFile != "" {
				if req.Token, err = readSecretFile(e, tokenFile, "--token-file"); err != nil {
					return err
				}
			}
			if keyFile != "" {
				if req.SSHKey, err = readSecretFile(e, keyFile, "--ssh-key-file"); err != nil {
					return err
				}
				req.SSHKey += "\n"
			}
			if secretFile != "" {
				if req.WebhookSecret, err = readSecretFile(e, secretFile, "--webhook-secret-file"); err != nil {
					return err
				}
			}
			sp := startSpinner(e.stderr, "cloning and validating "+args[0])
			var res restapi.SyncResult
			err = cl.do(cmd.Context(), "POST", "/api/posml/projects", req, &res)
			sp.stop()
			if err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, res)
			}
			fmt.Fprintf(e.stdout, "added project %s (branch %s)\n", res.Project.Name, res.Project.Branch)
			printSync(e.stdout, res)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&branch, "branch", "", "branch to follow (default: the repository's default branch, its HEAD)")
	f.StringVar(&name, "name", "", "project name (default: the config's proj_name, else the repository's name)")
	f.StringVar(&username, "username", "", "HTTPS user name for --token-file (default: the forge's)")
	f.StringVar(&tokenFile, "token-file", "", "file holding an HTTPS access token (- for stdin)")
	f.StringVar(&keyFile, "ssh-key-file", "", "file holding an SSH private key")
	f.StringVar(&secretFile, "webhook-secret-file", "", "file holding the secret of the project's push webhooks")
	f.StringArrayVar(&notify, "notify-url", nil, "webhook URL for the project's notifications (repeatable)")
	return c
}

// printSync summarizes a sync: the head, whether it was new and valid,
// its findings, and the active commit.
func printSync(w io.Writer, res restapi.SyncResult) {
	for _, c := range res.New {
		if c.Valid {
			fmt.Fprintf(w, "commit %s is valid: %s\n", shortSHA(c.SHA), firstLine(c.Message, 60))
		} else {
			fmt.Fprintf(w, "commit %s is NOT valid; it will not run: %s\n", shortSHA(c.SHA), firstLine(c.Message, 60))
		}
		diagnostics(w, c.Validation, "  ")
	}
	if len(res.New) == 0 && res.Head != "" {
		fmt.Fprintf(w, "no new commit (head %s)\n", shortSHA(res.Head))
	}
	switch {
	case res.Activated != "":
		fmt.Fprintf(w, "active commit: %s (new)\n", shortSHA(res.Activated))
	case res.Project.ActiveCommit != "":
		fmt.Fprintf(w, "active commit: %s\n", shortSHA(res.Project.ActiveCommit))
	default:
		fmt.Fprintln(w, "no valid commit yet: the project's pipelines will not run")
	}
	if res.Project.SyncError != "" {
		fmt.Fprintf(w, "sync error: %s\n", res.Project.SyncError)
	}
}

func newProjectListCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var out struct {
				Projects []restapi.Project `json:"projects"`
			}
			if err := cl.do(cmd.Context(), "GET", "/api/posml/projects", nil, &out); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, out)
			}
			var rows [][]string
			for _, p := range out.Projects {
				state := "active"
				switch {
				case p.Paused:
					state = "paused"
				case p.ActiveCommit == "":
					state = "no valid commit"
				case p.HeadCommit != p.ActiveCommit:
					state = "head invalid"
				}
				if p.SyncError != "" {
					state += ", sync failing"
				}
				rows = append(rows, []string{p.Name, p.Branch, shortSHA(p.ActiveCommit), shortSHA(p.HeadCommit), state, when(p.LastSyncAt), p.RepoURL})
			}
			return table(e.stdout, []string{"NAME", "BRANCH", "ACTIVE", "HEAD", "STATE", "LAST SYNC", "REPOSITORY"}, rows)
		},
	}
}

func newProjectShowCmd(e *env, cf *clientFlags) *cobra.Command {
	var commits int
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a project with its recent commits and their findings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var p restapi.Project
			if err := cl.do(cmd.Context(), "GET", fmt.Sprintf("/api/posml/projects/%s?commits=%d", url.PathEscape(args[0]), commits), nil, &p); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, p)
			}
			w := e.stdout
			fmt.Fprintf(w, "name:          %s\n", p.Name)
			fmt.Fprintf(w, "repository:    %s\n", p.RepoURL)
			fmt.Fprintf(w, "branch:        %s\n", p.Branch)
			fmt.Fprintf(w, "paused:        %v\n", p.Paused)
			fmt.Fprintf(w, "active commit: %s\n", orDash(p.ActiveCommit))
			fmt.Fprintf(w, "head commit:   %s\n", orDash(p.HeadCommit))
			creds := "none"
			if p.HasCredentials {
				creds = "stored (not shown)"
			}
			fmt.Fprintf(w, "credentials:   %s\n", creds)
			if len(p.NotifyURLs) > 0 {
				fmt.Fprintf(w, "notify:        %s\n", strings.Join(p.NotifyURLs, ", "))
			}
			hook := cl.base + "/api/posml/hooks/{gitlab,github,gitea}"
			if !strings.Contains(p.RepoURL, "://") && !strings.Contains(p.RepoURL, "@") {
				hook += "?project=" + url.QueryEscape(p.Name) // a local path: no clone URL to match
			}
			fmt.Fprintf(w, "push webhook:  %s\n", hook)
			fmt.Fprintf(w, "last sync:     %s\n", when(p.LastSyncAt))
			if p.SyncError != "" {
				fmt.Fprintf(w, "sync error:    %s\n", p.SyncError)
			}
			if len(p.Commits) == 0 {
				return nil
			}
			fmt.Fprintln(w, "\ncommits:")
			for _, c := range p.Commits {
				mark := "valid"
				if !c.Valid {
					mark = "INVALID"
				}
				if c.Active {
					mark += ", active"
				}
				fmt.Fprintf(w, "  %s  %-16s %s  %s  %s\n", shortSHA(c.SHA), mark, c.SeenAt.Local().Format("2006-01-02 15:04"), orDash(c.Author), firstLine(c.Message, 60))
				if !c.Valid {
					diagnostics(w, c.Validation, "      ")
				}
			}
			return nil
		},
	}
	c.Flags().IntVar(&commits, "commits", 10, "how many recent commits to show")
	return c
}

// newProjectActionCmd is sync, pause or resume.
func newProjectActionCmd(e *env, cf *clientFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			path := "/api/posml/projects/" + url.PathEscape(args[0]) + "/" + action
			if action == "sync" {
				sp := startSpinner(e.stderr, "syncing "+args[0])
				var res restapi.SyncResult
				err := cl.do(cmd.Context(), "POST", path, nil, &res)
				sp.stop()
				if err != nil {
					return err
				}
				if cf.asJSON {
					return printJSON(e.stdout, res)
				}
				printSync(e.stdout, res)
				return nil
			}
			var p restapi.Project
			if err := cl.do(cmd.Context(), "POST", path, nil, &p); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, p)
			}
			if p.Paused {
				fmt.Fprintf(e.stdout, "project %s paused: its pipelines will not fire until `posml project resume %s`\n", p.Name, p.Name)
			} else {
				fmt.Fprintf(e.stdout, "project %s resumed\n", p.Name)
			}
			return nil
		},
	}
}

func newProjectSetCmd(e *env, cf *clientFlags) *cobra.Command {
	var (
		branch, username, tokenFile, keyFile, secretFile string
		notify                                           []string
		clear                                            bool
	)
	c := &cobra.Command{
		Use:   "set NAME",
		Short: "Change a project's branch, credentials, webhook secret or notification URLs",
		Long: `Change a project. --branch follows another branch (its head is validated at
once); --token-file or --ssh-key-file replace the repository credentials
(--clear-credentials removes them); --webhook-secret-file replaces the
webhook secret; --notify-url (repeatable) replaces the notification URLs,
--notify-url "" removes them. Secrets are read from files ("-": stdin).`,
		Example: `  posml project set iris --token-file ~/.iris-token-2025
  posml project set iris --branch release`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var req restapi.UpdateProject
			f := cmd.Flags()
			if f.Changed("branch") {
				req.Branch = &branch
			}
			if f.Changed("notify-url") {
				urls := []string{}
				for _, u := range notify {
					if u != "" {
						urls = append(urls, u)
					}
				}
				req.NotifyURLs = &urls
			}
			if tokenFile != "" && keyFile != "" {
				return &usageError{fmt.Errorf("give --token-file or --ssh-key-file, not both")}
			}
			if tokenFile != "" {
				if req.Token, err = readSecretFile(e, tokenFile, "--token-file"); err != nil {
					return err
				}
			}
			if keyFile != "" {
				if req.SSHKey, err = readSecretFile(e, keyFile, "--ssh-key-file"); err != nil {
					return err
				}
				req.SSHKey += "\n"
			}
			req.Username, req.ClearCredentials = username, clear
			if secretFile != "" {
				s, err := readSecretFile(e, secretFile, "--webhook-secret-file")
				if err != nil {
					return err
				}
				req.WebhookSecret = &s
			}
			sp := startSpinner(e.stderr, "updating "+args[0])
			var res restapi.SyncResult
			err = cl.do(cmd.Context(), "PATCH", "/api/posml/projects/"+url.PathEscape(args[0]), req, &res)
			sp.stop()
			if err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, res)
			}
			fmt.Fprintf(e.stdout, "project %s updated (branch %s)\n", res.Project.Name, res.Project.Branch)
			printSync(e.stdout, res)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&branch, "branch", "", "follow this branch")
	f.StringVar(&username, "username", "", "HTTPS user name for --token-file")
	f.StringVar(&tokenFile, "token-file", "", "file holding a new HTTPS access token (- for stdin)")
	f.StringVar(&keyFile, "ssh-key-file", "", "file holding a new SSH private key")
	f.BoolVar(&clear, "clear-credentials", false, "remove the repository credentials")
	f.StringVar(&secretFile, "webhook-secret-file", "", "file holding a new webhook secret")
	f.StringArrayVar(&notify, "notify-url", nil, "notification webhook URL (repeatable; replaces the list)")
	return c
}

func newProjectRemoveCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a project with its commits and run history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			if err := cl.do(cmd.Context(), "DELETE", "/api/posml/projects/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if !cf.asJSON {
				fmt.Fprintf(e.stdout, "project %s removed\n", args[0])
			}
			return nil
		},
	}
}

// nativeConfig configures the project registry, the REST API and the
// notifications of `posml server`.
type nativeConfig struct {
	DataDir       string
	Python        string
	PollInterval  time.Duration
	WebhookSecret string
	NotifyURLs    []string
	// Marts serves /api/posml/marts and /api/posml/sources; nil: not served.
	Marts *restapi.MartsConfig
	// Executor is the policy on the projects' executor sections.
	Executor pipeline.ExecutorPolicy
	// WakeFunc nudges the engine when the API queues a run or asks for a
	// cancel, and when a commit becomes active or a project is resumed;
	// nil: the scheduler and runner find them at their next poll.
	WakeFunc func()
}

// native is the part of `posml server` this file wires: the project
// registry with its poll loop, the notifier, and the REST API.
type native struct {
	Projects *projects.Service
	Notifier *notify.Notifier
	Handler  http.Handler
}

func newNative(store *sqlstore.Store, cfg nativeConfig, log *slog.Logger) *native {
	svc := projects.New(store, store, projects.Config{
		Dir: filepath.Join(cfg.DataDir, "repos"), Python: cfg.Python, PollInterval: cfg.PollInterval,
		WakeFunc: cfg.WakeFunc, Executor: cfg.Executor,
	}, log)
	return &native{
		Projects: svc,
		Notifier: notify.New(notify.Config{URLs: cfg.NotifyURLs, Log: log}),
		Handler: restapi.Handler(restapi.Config{
			Projects: svc, Runs: store, WebhookSecret: cfg.WebhookSecret, Log: log, WakeFunc: cfg.WakeFunc,
			OutputsFunc: store.RunOutputs, DecisionsFunc: store.PromotionDecisionsOfRun, EventsFunc: store.RegistryEvents,
			Marts: cfg.Marts,
		}),
	}
}

// start runs the poll loop and the notifier until ctx ends; the returned
// wait blocks until both have stopped.
func (n *native) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.Projects.Run(ctx) }() // waited for by wait
	go func() { defer wg.Done(); n.Notifier.Run(ctx) }() // waited for by wait
	return wg.Wait
}

// addNativeFlags adds the flags of nativeConfig to `posml server`.
func addNativeFlags(c *cobra.Command) {
	f := c.Flags()
	f.Duration("poll-interval", time.Minute, "how often every project's branch is fetched (env POSML_POLL_INTERVAL; 0 disables polling)")
	f.String("webhook-secret-file", "", "file holding the secret push webhooks of every project are signed with (env POSML_WEBHOOK_SECRET holds the secret itself)")
	f.StringArray("notify-url", nil, "webhook URL that receives failure, timeout, promotion and hold events (repeatable; env POSML_NOTIFY_URL, comma-separated)")
}

// resolve fills nc from the flags of addNativeFlags, the environment and
// the defaults.
func (nc *nativeConfig) resolve(cmd *cobra.Command, e *env, dataDir string) error {
	f := cmd.Flags()
	nc.DataDir = dataDir
	nc.Python = defaultPython(e)
	nc.PollInterval, _ = f.GetDuration("poll-interval")
	if !f.Changed("poll-interval") {
		if v := e.getenv("POSML_POLL_INTERVAL"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return &usageError{fmt.Errorf("POSML_POLL_INTERVAL=%q: want a duration such as 1m", v)}
			}
			nc.PollInterval = d
		}
	}
	if nc.PollInterval < 0 {
		return &usageError{fmt.Errorf("--poll-interval must not be negative")}
	}
	nc.WebhookSecret = e.getenv("POSML_WEBHOOK_SECRET")
	if path, _ := f.GetString("webhook-secret-file"); path != "" {
		s, err := readSecretFile(e, path, "--webhook-secret-file")
		if err != nil {
			return err
		}
		nc.WebhookSecret = s
	}
	nc.NotifyURLs, _ = f.GetStringArray("notify-url")
	if !f.Changed("notify-url") {
		for _, u := range strings.Split(e.getenv("POSML_NOTIFY_URL"), ",") {
			if u = strings.TrimSpace(u); u != "" {
				nc.NotifyURLs = append(nc.NotifyURLs, u)
			}
		}
	}
	return nil
}

// RunEnded notifies the failure or timeout of a run to the server's and
// the project's webhook URLs; it is the runner's OnEnd hook. It only
// queues the event (notify.Notifier never blocks).
func (n *native) RunEnded(r pipeline.Run) {
	var kind notify.Kind
	switch r.State {
	case pipeline.Failed:
		kind = notify.Failure
	case pipeline.TimedOut:
		kind = notify.Timeout
	default:
		return
	}
	ctx := context.Background()
	ev := notify.Event{Kind: kind, Project: r.Project, Pipeline: string(r.Pipeline), RunID: r.ID.String(), State: string(r.State), Message: r.Reason}
	if p, err := n.Projects.Get(ctx, r.Project); err == nil {
		ev.URLs = p.NotifyURLs
	}
	n.Notifier.Notify(ctx, ev)
}
