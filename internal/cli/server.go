package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/promotion"
	"github.com/posml/posml/internal/pyenv"
	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/runner"
	"github.com/posml/posml/internal/scheduler"
	"github.com/posml/posml/internal/sealed"
	"github.com/posml/posml/internal/server"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/web"
	pythonsdk "github.com/posml/posml/sdk/python"
)

func init() { register(newServerCmd) }

// serverConfig is the resolved configuration of `posml server`.
type serverConfig struct {
	Addr         string
	DataDir      string
	DB           string // database URL
	ArtifactsDir string
	LogLevel     slog.Level
	// RequireAuth: the APIs and the UI need a user or a run token
	// (authRequired decides it from the address and the flags).
	RequireAuth bool
	// NoAuth: --no-auth turned authentication off on a non-loopback
	// address.
	NoAuth bool
	// SecretKeyFile holds the key that encrypts stored credentials ("":
	// <data-dir>/secret.key, made on first start, with SQLite; none with
	// PostgreSQL, whose replicas must share one key).
	SecretKeyFile string
	// SourceRegex must match every new model version's source
	// (MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX, as MLflow's
	// server reads it); nil: any source MLflow accepts.
	SourceRegex *regexp.Regexp
	// TrustProxy: a TLS-terminating proxy in front sets X-Forwarded-Proto,
	// which then decides the cookies' Secure flag.
	TrustProxy bool
	// Projects, webhooks and notifications (project.go).
	Native nativeConfig
	// The pipeline engine (engine.go).
	Engine engineConfig
}

// Defaults of `posml server`.
const (
	defaultServerAddr = "127.0.0.1:5000"
	defaultDataDir    = "./posml-data"
)

func newServerCmd(e *env) *cobra.Command {
	var (
		addr, dataDir, db, artifacts, logLevel string
	)
	c := &cobra.Command{
		Use:   "server",
		Short: "Run the server: pipeline scheduler and runner, tracking server (MLflow REST API, artifact proxy)",
		Long: `Run posml's server: the MLflow-compatible tracking API under /api/2.0/mlflow/
and /ajax-api/2.0/mlflow/, the artifact proxy under /api/2.0/mlflow-artifacts/,
/health, /version and Prometheus /metrics. Point an MLflow client at it with
MLFLOW_TRACKING_URI=http://ADDR.

It also runs the pipelines of the registered projects: the scheduler fires
each project's train and trigger pipelines on their timetables, and the
runner executes queued runs, at most --max-parallel processes at once
(POSML_MAX_PARALLEL, 2), with the interpreter --python (POSML_PYTHON) as it
is, or by default /usr/bin/python3 (else python3) with, for a project that
has a requirements.txt, a virtualenv built from it (--system-site-packages,
cached by its hash in <data-dir>/envs), in checkouts under --runs-dir
(POSML_RUNS_DIR, <data-dir>/runs). --no-scheduler keeps the runner but fires
nothing: runs start only by hand. Every run has posml's Python SDK
(workbenchPy, posml) on its PYTHONPATH. At start, the runs a crashed server left
running are failed ("server restarted") and retried if attempts remain.

Several servers (replicas) may share one PostgreSQL database (not SQLite):
each fire starts once, a queued run starts on one replica, and each running
attempt holds a lease its replica renews; when a replica dies, another one
fails its attempts ("replica lost") after --lease-timeout (60s) and retries
them. /health answers 503 until the database answers with the current
schema. The server refuses a schema newer than it knows (see posml migrate).

Each setting comes from its flag, else its environment variable, else the
default: --addr (POSML_ADDR, 127.0.0.1:5000), --data-dir (POSML_DATA_DIR,
./posml-data), --db (POSML_DB, SQLite in the data directory),
--artifacts-destination (POSML_ARTIFACTS_DESTINATION, <data-dir>/artifacts).

Authentication: on any address but a loopback one (or with --require-auth,
POSML_REQUIRE_AUTH=1) the APIs and the UI require a user (posml user add):
MLflow clients send MLFLOW_TRACKING_USERNAME/PASSWORD or a user token (posml
token create) as MLFLOW_TRACKING_TOKEN, the UI asks for a login. --no-auth
turns this off, with a warning.

Executors: train attempts run as processes of the server, or, for projects
whose executor: section asks for it, as Kubernetes Jobs (--kube-config) or
Slurm batch jobs (--slurm-shared-dir); cluster jobs outlive a restart of the
server, which takes them back.

Stored credentials (git tokens, SSH keys, source DSNs) are encrypted with
--secret-key-file (with SQLite, <data-dir>/secret.key is made on first start).

The server stops gracefully on SIGINT or SIGTERM.`,
		Example: `  posml server
  posml server --addr 0.0.0.0:5000 --data-dir /var/lib/posml
  posml server --db postgres://posml:secret@127.0.0.1/posml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pick := func(flag, env, def string) string {
				if cmd.Flags().Changed(flag) {
					return map[string]string{"addr": addr, "data-dir": dataDir, "db": db, "artifacts-destination": artifacts, "log-level": logLevel}[flag]
				}
				if v := e.getenv(env); v != "" {
					return v
				}
				return def
			}
			cfg := serverConfig{
				Addr:    pick("addr", "POSML_ADDR", defaultServerAddr),
				DataDir: pick("data-dir", "POSML_DATA_DIR", defaultDataDir),
			}
			// Runs execute in their own work dirs: every path handed to them
			// (the SDK on PYTHONPATH, logs, virtualenvs) must be absolute.
			if abs, err := filepath.Abs(cfg.DataDir); err == nil {
				cfg.DataDir = abs
			}
			cfg.DB = pick("db", "POSML_DB", "sqlite:///"+filepath.Join(cfg.DataDir, "posml.db"))
			cfg.ArtifactsDir = pick("artifacts-destination", "POSML_ARTIFACTS_DESTINATION", filepath.Join(cfg.DataDir, "artifacts"))
			if err := cfg.LogLevel.UnmarshalText([]byte(pick("log-level", "POSML_LOG_LEVEL", "info"))); err != nil {
				return &usageError{fmt.Errorf("--log-level: %w", err)}
			}
			if err := cfg.Native.resolve(cmd, e, cfg.DataDir); err != nil {
				return err
			}
			if err := cfg.Engine.resolve(cmd, e, cfg.DataDir); err != nil {
				return err
			}
			cfg.Native.Python = cfg.Engine.Python // validation parses with the interpreter that runs
			requireAuth, _ := cmd.Flags().GetBool("require-auth")
			noAuth, _ := cmd.Flags().GetBool("no-auth")
			if !cmd.Flags().Changed("require-auth") && !noAuth {
				requireAuth = isTrue(e.getenv("POSML_REQUIRE_AUTH"))
			}
			var err error
			if cfg.RequireAuth, err = authRequired(cfg.Addr, requireAuth, noAuth); err != nil {
				return err
			}
			cfg.NoAuth = noAuth && !isLoopback(cfg.Addr)
			cfg.SecretKeyFile, _ = cmd.Flags().GetString("secret-key-file")
			if cfg.SecretKeyFile == "" {
				cfg.SecretKeyFile = e.getenv("POSML_SECRET_KEY_FILE")
			}
			if re := e.getenv("MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX"); re != "" {
				var err error
				if cfg.SourceRegex, err = regexp.Compile(re); err != nil {
					return &usageError{fmt.Errorf("MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX=%q: %w (Go's RE2 syntax: no look-arounds or back-references)", re, err)}
				}
			}
			cfg.TrustProxy, _ = cmd.Flags().GetBool("trust-proxy")
			if !cmd.Flags().Changed("trust-proxy") {
				cfg.TrustProxy = isTrue(e.getenv("POSML_TRUST_PROXY"))
			}
			return runServer(cmd.Context(), e, cfg)
		},
	}
	f := c.Flags()
	f.StringVar(&addr, "addr", defaultServerAddr, "listen address (env POSML_ADDR)")
	f.StringVar(&dataDir, "data-dir", defaultDataDir, "directory for the SQLite database and artifacts (env POSML_DATA_DIR)")
	f.StringVar(&db, "db", "", "database URL: sqlite:///relative.db, sqlite:////absolute.db or postgres://... (env POSML_DB; default SQLite in the data directory)")
	f.StringVar(&artifacts, "artifacts-destination", "", "directory, or s3://bucket/prefix, where proxied artifacts are stored (env POSML_ARTIFACTS_DESTINATION; default <data-dir>/artifacts; S3 settings from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, MLFLOW_S3_ENDPOINT_URL)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error (env POSML_LOG_LEVEL)")
	f.Bool("require-auth", false, "require a login or token for the APIs and the UI even on a loopback address (env POSML_REQUIRE_AUTH=1; on by default for any other address)")
	f.String("secret-key-file", "", "key that encrypts the stored credentials (32 random bytes, or their base64 or hex: openssl rand -base64 32); the same file on every replica (env POSML_SECRET_KEY_FILE; default with SQLite: <data-dir>/secret.key, made on first start; with PostgreSQL: none, credentials in plain text)")
	f.Bool("trust-proxy", false, "posml is behind a TLS-terminating proxy: X-Forwarded-Proto: https marks the session and CSRF cookies Secure (env POSML_TRUST_PROXY=1)")
	f.Bool("no-auth", false, "serve without authentication even on a non-loopback address: anyone who reaches the port may read and change everything")
	addNativeFlags(c)
	addEngineFlags(c)
	addExecutorFlags(c)
	return c
}

// runServer opens the stores and serves until ctx ends.
func runServer(ctx context.Context, e *env, cfg serverConfig) (err error) {
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	box, err := secretBox(cfg)
	if err != nil {
		return err
	}
	if box == nil {
		log.Warn("stored credentials (git tokens, SSH keys, source DSNs) are kept in plain text in the database: give --secret-key-file, the same file on every replica")
	}
	store, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DB, Secrets: box})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	if err := store.CheckSchema(ctx); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if n, err := store.SealSecrets(ctx); err != nil {
		return fmt.Errorf("encrypt stored credentials: %w", err)
	} else if n > 0 {
		log.Info("encrypted credentials stored in plain text before", "count", n)
	}
	art, closeArt, err := openArtifacts(ctx, e, cfg.ArtifactsDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeArt()) }()
	log.Info("posml server starting", "version", version, "db", redactURL(cfg.DB), "dialect", store.Dialect(), "artifacts", cfg.ArtifactsDir)
	var eng *engine
	cfg.Native.WakeFunc = func() { eng.Wake() } // eng is set below, before the server serves
	marts, martsAPI := newMartServer(store, cfg.DataDir, art, log)
	var users *auth.Users // nil: no authentication
	if cfg.RequireAuth {
		users = auth.NewUsers(store)
		martsAPI.RequireAuth, martsAPI.Users = true, users
		warnNoUsers(ctx, store, log)
	} else if cfg.NoAuth {
		log.Warn("AUTHENTICATION IS OFF (--no-auth) on a non-loopback address: anyone who reaches " + cfg.Addr + " may read and change every project, run, model and mart")
	}
	cfg.Native.Marts = martsAPI
	cfg.Native.Executor = cfg.Engine.Executors.Policy // a commit the server cannot run is not activated
	nat := newNative(store, cfg.Native, log)
	// The background loops stop with ctx; when the server returns early
	// (say, its port is taken) ctx is canceled here first, so the deferred
	// waits below never block.
	ctx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	natWait := nat.start(ctx) // the poll loop and the notifier
	defer func() { stopLoops(); natWait() }()
	martsDone := make(chan struct{})
	go func(ctx context.Context) { defer close(martsDone); _ = marts.Run(ctx, martRefreshInterval) }(ctx) // refresh schedules; waited for below (ctx passed: the variable is reassigned below)
	defer func() { stopLoops(); <-martsDone }()
	// The Python SDK (workbenchPy, posml) goes on every run's PYTHONPATH.
	if cfg.Engine.SDKDir, err = pythonsdk.Install(filepath.Join(cfg.DataDir, "sdk")); err != nil {
		return fmt.Errorf("install the python sdk: %w", err)
	}
	replica := newReplica(cfg.Engine)
	cfg.Engine.ReplicaID = replica.ID
	if err := refuseSecondSQLiteServer(ctx, store, replica); err != nil {
		return err
	}
	log = log.With("replica", replica.ID)
	defer func() { err = errors.Join(err, store.RemoveReplica(context.WithoutCancel(ctx), replica.ID)) }()
	eng, err = newEngine(store, cfg.Engine, runner.Deps{
		Leases:   replicaLeases{store, replica},           // heartbeat and attempt leases of this replica
		Tokens:   auth.New(store, auth.Config{}),          // MLFLOW_TRACKING_TOKEN of each run
		Promoter: promotion.New(store, nat.Notifier, log), // champion/challenger after a train run succeeds
		// The registry's clones, cloned or fetched for a project or commit
		// another replica registered.
		Source: &runner.GitSource{Dir: cfg.Engine.ReposDir, Refresh: nat.Projects.Refresh},
	}, trackingURL(cfg.Addr), nat.RunEnded, log)
	if err != nil {
		return err
	}
	ctx, stopEngine := context.WithCancel(ctx)
	defer stopEngine()
	engineDone := eng.start(ctx, stopEngine) // an engine failure stops the server too
	defer func() { err = errors.Join(err, engineDone()) }()
	// The tracking store attaches a pipeline run's mart reads to the MLflow
	// runs its token creates.
	tracking := mlflowapi.HandlerWith(martLineageStore{store, marts}, art, log, mlflowapi.Options{SourceRegex: cfg.SourceRegex})
	native := nat.Handler
	uiOpt := web.Options{Log: log}
	if users != nil { // users (password, token, session) or run tokens
		tracking = mlflowapi.WithAuth(tracking, mlflowapi.AuthConfig{Tokens: auth.New(store, auth.Config{}), Lineage: store,
			Store: martLineageStore{store, marts}, RequireAuth: true, Users: users, Log: log})
		native = restapi.RequireUser(native, users, log)
		uiOpt.Users = users
	}
	ui := web.Handler(web.Deps{Store: store, Artifacts: art, Pipelines: store,
		Projects: nat.Projects, Runs: eng.pool, Marts: marts}, uiOpt)
	if cfg.TrustProxy {
		ui = web.TrustForwardedProto(ui)
	}
	srv := server.New(server.Config{
		Addr:     cfg.Addr,
		Version:  version,
		Tracking: tracking,
		// Run tokens may write only their own project's artifacts.
		Artifacts: mlflowapi.WithAuth(artifact.Handler(art, log), mlflowapi.AuthConfig{
			Tokens: auth.New(store, auth.Config{}), Lineage: store, Store: store, Log: log,
			RequireAuth: users != nil, Users: usersOrNil(users)}),
		Native: native,
		// The UI's buttons call the services the REST API uses.
		UI:     ui,
		Log:    log,
		Ready:  readiness(store, art),
		Gauges: func(ctx context.Context) []server.Gauge { return replicaGauges(ctx, store, log) },
	})
	return srv.Run(ctx)
}

// redactURL hides the password of a database URL in logs.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return u
	}
	userinfo := rest[:at]
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
	}
	return u
}

// engineConfig configures the pipeline engine of `posml server`: the
// scheduler and the runner pool.
type engineConfig struct {
	Python string // interpreter of train.py and the trigger shim
	// PythonGiven: --python or POSML_PYTHON named the interpreter, which
	// then runs every project as it is; else a project with a
	// requirements.txt runs in a virtual environment built from it (in
	// EnvsDir) on top of Python.
	PythonGiven bool
	EnvsDir     string
	SDKDir      string // put on the runs' PYTHONPATH
	MaxParallel int    // attempts' processes at once
	RunsDir     string // checkouts and logs of runs
	ReposDir    string // the project registry's bare clones
	NoScheduler bool   // runs only start by hand (API, CLI)
	// ReplicaID names this server among the replicas sharing a
	// PostgreSQL database (default: host name and a random suffix).
	ReplicaID    string
	LeaseTimeout time.Duration // of running attempts (runner.Config)
	// Executors are the backends attempts run on and the policy on the
	// projects' executor sections.
	Executors executorConfig
}

// addEngineFlags adds the flags of engineConfig to `posml server`.
func addEngineFlags(c *cobra.Command) {
	f := c.Flags()
	f.String("python", "", "Python interpreter of the pipelines' scripts, used as it is (env POSML_PYTHON; default: /usr/bin/python3 if it exists, else python3 from PATH, with a cached virtualenv per requirements.txt in <data-dir>/envs)")
	f.Int("max-parallel", 2, "pipeline processes running at once, over all projects (env POSML_MAX_PARALLEL)")
	f.String("runs-dir", "", "directory of the runs' checkouts and logs (env POSML_RUNS_DIR; default <data-dir>/runs)")
	f.Bool("no-scheduler", false, "do not fire schedules: runs start only by hand (API, CLI); queued runs still execute")
	f.String("replica-id", "", "name of this server among the replicas sharing a PostgreSQL database; keep it across restarts to recover its runs at once (env POSML_REPLICA_ID; default: host name and a random suffix)")
	f.Duration("lease-timeout", runner.DefaultLeaseTimeout, "a running attempt whose server stopped renewing its lease this long is failed and retried by another replica (env POSML_LEASE_TIMEOUT)")
}

// resolve fills ec from the flags of addEngineFlags, the environment and
// the defaults.
func (ec *engineConfig) resolve(cmd *cobra.Command, e *env, dataDir string) error {
	f := cmd.Flags()
	ec.Python, _ = f.GetString("python")
	if ec.Python == "" {
		ec.Python = e.getenv("POSML_PYTHON")
	}
	ec.PythonGiven = ec.Python != ""
	ec.EnvsDir = filepath.Join(dataDir, "envs")
	if ec.Python == "" {
		ec.Python = "python3"
		if fi, err := os.Stat("/usr/bin/python3"); err == nil && !fi.IsDir() {
			ec.Python = "/usr/bin/python3"
		}
	}
	ec.MaxParallel, _ = f.GetInt("max-parallel")
	if !f.Changed("max-parallel") {
		if v := e.getenv("POSML_MAX_PARALLEL"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return &usageError{fmt.Errorf("POSML_MAX_PARALLEL=%q: want a number", v)}
			}
			ec.MaxParallel = n
		}
	}
	if ec.MaxParallel < 1 {
		return &usageError{fmt.Errorf("--max-parallel must be at least 1, not %d", ec.MaxParallel)}
	}
	ec.RunsDir, _ = f.GetString("runs-dir")
	if ec.RunsDir == "" {
		ec.RunsDir = e.getenv("POSML_RUNS_DIR")
	}
	if ec.RunsDir == "" {
		ec.RunsDir = filepath.Join(dataDir, "runs")
	}
	if abs, err := filepath.Abs(ec.RunsDir); err == nil {
		ec.RunsDir = abs
	}
	ec.ReposDir = filepath.Join(dataDir, "repos") // where newNative's registry clones
	ec.NoScheduler, _ = f.GetBool("no-scheduler")
	ec.ReplicaID, _ = f.GetString("replica-id")
	if ec.ReplicaID == "" {
		ec.ReplicaID = e.getenv("POSML_REPLICA_ID")
	}
	ec.LeaseTimeout, _ = f.GetDuration("lease-timeout")
	if v := e.getenv("POSML_LEASE_TIMEOUT"); v != "" && !f.Changed("lease-timeout") {
		d, err := time.ParseDuration(v)
		if err != nil {
			return &usageError{fmt.Errorf("POSML_LEASE_TIMEOUT=%q: want a duration such as 60s", v)}
		}
		ec.LeaseTimeout = d
	}
	if ec.LeaseTimeout < 300*time.Millisecond {
		return &usageError{fmt.Errorf("--lease-timeout must be at least 300ms, not %s", ec.LeaseTimeout)}
	}
	return ec.Executors.resolve(cmd, e)
}

// newReplica describes this server to the other replicas.
func newReplica(ec engineConfig) sqlstore.Replica {
	host, _ := os.Hostname()
	r := sqlstore.Replica{ID: ec.ReplicaID, Host: host, PID: os.Getpid(), Version: version, StartedAt: time.Now(), LeaseTimeout: ec.LeaseTimeout}
	if r.ID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		r.ID = cmp.Or(host, "posml") + "-" + hex.EncodeToString(b[:])
	}
	return r
}

// refuseSecondSQLiteServer fails when another live posml server on this
// machine uses the same SQLite database: SQLite is for one server, which
// takes every running attempt it finds for its own leftover. (Best effort:
// a server shows up once its runner has started.)
func refuseSecondSQLiteServer(ctx context.Context, store *sqlstore.Store, me sqlstore.Replica) error {
	if store.Dialect() != "sqlite" {
		return nil
	}
	rs, err := store.Replicas(ctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Host == me.Host && r.PID != me.PID && time.Since(r.HeartbeatAt) < r.LeaseTimeout && syscall.Kill(r.PID, 0) == nil {
			return fmt.Errorf("another posml server (pid %d, replica %s) uses this SQLite database; several servers need PostgreSQL (--db postgres://...)", r.PID, r.ID)
		}
	}
	return nil
}

// replicaLeases is the store as runner.Leases, bound to this replica.
type replicaLeases struct {
	*sqlstore.Store
	r sqlstore.Replica
}

func (l replicaLeases) Beat(ctx context.Context, now time.Time) error {
	return l.HeartbeatReplica(ctx, l.r, now)
}

// replicaGauges are the scheduler's and the replicas' gauges of /metrics.
func replicaGauges(ctx context.Context, store *sqlstore.Store, log *slog.Logger) []server.Gauge {
	now := time.Now()
	lag, err1 := store.SchedulerLag(ctx, now)
	leases, err2 := store.LeasesActive(ctx, now)
	alive, err3 := store.ReplicasAlive(ctx, now)
	if err := errors.Join(err1, err2, err3); err != nil {
		log.Error("metrics: replica gauges", "err", err)
		return nil
	}
	return []server.Gauge{
		{Name: "posml_scheduler_lag_seconds", Help: "Now minus the oldest due fire no scheduler has claimed yet.", Value: lag.Seconds()},
		{Name: "posml_leases_active", Help: "Running pipeline attempts whose lease is live.", Value: float64(leases)},
		{Name: "posml_replicas_alive", Help: "Servers whose heartbeat is younger than their lease timeout.", Value: float64(alive)},
	}
}

// trackingURL is the URL runs reach this server at: its listen address,
// with a wildcard host replaced by the loopback address.
func trackingURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// engine is the scheduler and the runner pool of `posml server`.
type engine struct {
	sched *scheduler.Scheduler // nil with --no-scheduler
	pool  *runner.Pool
	log   *slog.Logger
}

// newEngine builds the scheduler and the pool; deps brings the optional
// collaborators (tokens, promotion), the rest is filled in here.
func newEngine(store *sqlstore.Store, cfg engineConfig, deps runner.Deps, trackingURI string, onEnd func(pipeline.Run), log *slog.Logger) (*engine, error) {
	eng := &engine{log: log}
	backend, remoteURIs, err := cfg.Executors.backends(cfg.Python)
	if err != nil {
		return nil, err
	}
	deps.Store, deps.Backend = store, backend
	if deps.Source == nil {
		deps.Source = &runner.GitSource{Dir: cfg.ReposDir}
	}
	if !cfg.PythonGiven {
		deps.Envs = &pyenv.Cache{Dir: cfg.EnvsDir, Base: cfg.Python}
	}
	if store.Dialect() == "postgres" {
		deps.Logs = store // any replica serves any run's log
	}
	eng.pool = runner.New(deps, runner.Config{
		ReplicaID:    cfg.ReplicaID,
		LeaseTimeout: cfg.LeaseTimeout,
		Shared:       store.Dialect() == "postgres", // SQLite: one server only
		RunsDir:      cfg.RunsDir,
		Python:       cfg.Python,
		MaxParallel:  cfg.MaxParallel,
		TrackingURI:  trackingURI,
		SDKDir:       cfg.SDKDir,
		EndedFunc:    onEnd,
		Executor:     cfg.Executors.Policy,
		// A remote backend's attempts reach posml at its own URL, when
		// one is configured.
		RemoteTrackingURI: remoteURIs,
	}, log)
	if !cfg.NoScheduler {
		eng.sched = scheduler.New(store, scheduler.Config{FiredFunc: func(pipeline.Run) { eng.pool.Wake() }}, log)
	}
	return eng, nil
}

// Wake nudges the scheduler (a commit was activated, a project resumed)
// and the pool (a run was queued or a cancel requested). It is nil-safe
// and never blocks.
func (eng *engine) Wake() {
	if eng == nil {
		return
	}
	if eng.sched != nil {
		eng.sched.Wake()
	}
	eng.pool.Wake()
}

// start runs the scheduler and the pool until ctx ends; if either fails,
// fail (the server's cancel) stops the server. The returned done cancels
// them with fail and waits for them, returning their errors.
func (eng *engine) start(ctx context.Context, fail context.CancelFunc) (done func() error) {
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() { // waited for by done
			defer wg.Done()
			if err := f(ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				fail()
			}
		}()
	}
	if eng.sched != nil {
		run("scheduler", eng.sched.Run)
	}
	run("runner", eng.pool.Run)
	return func() error {
		fail()
		wg.Wait()
		close(errs)
		var err error
		for e := range errs {
			err = errors.Join(err, e)
		}
		return err
	}
}

// openArtifacts opens the artifact store at dest: a directory, or
// s3://bucket/prefix with the settings MLflow's S3 artifact repository reads
// from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION, MLFLOW_S3_ENDPOINT_URL
// for MinIO and other S3-compatible servers).
func openArtifacts(ctx context.Context, e *env, dest string) (artifact.Store, func() error, error) {
	if !strings.HasPrefix(dest, "s3://") {
		l, err := artifact.OpenLocal(artifact.LocalConfig{Dir: dest})
		if err != nil {
			return nil, nil, err
		}
		return l, l.Close, nil
	}
	bucket, prefix, err := artifact.ParseS3URI(dest)
	if err != nil {
		return nil, nil, &usageError{fmt.Errorf("--artifacts-destination: %w", err)}
	}
	region := e.getenv("AWS_REGION")
	if region == "" {
		region = e.getenv("AWS_DEFAULT_REGION")
	}
	s, err := artifact.OpenS3(ctx, artifact.S3Config{
		Bucket:          bucket,
		Prefix:          prefix,
		Endpoint:        e.getenv("MLFLOW_S3_ENDPOINT_URL"),
		Region:          region,
		AccessKeyID:     e.getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: e.getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    e.getenv("AWS_SESSION_TOKEN"),
	})
	if err != nil {
		return nil, nil, err
	}
	return s, func() error { return nil }, nil
}

// secretBox is the box that seals stored credentials: the key of
// --secret-key-file, else, with SQLite (one server), <data-dir>/secret.key,
// made on first start; nil with PostgreSQL and no key file (replicas must
// share one key: posml cannot make it for them).
func secretBox(cfg serverConfig) (*sealed.Box, error) {
	path, create := cfg.SecretKeyFile, false
	if path == "" {
		if strings.HasPrefix(cfg.DB, "postgres://") || strings.HasPrefix(cfg.DB, "postgresql://") {
			return nil, nil
		}
		path, create = filepath.Join(cfg.DataDir, "secret.key"), true
	}
	key, err := sealed.LoadOrCreateKey(path, create)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--secret-key-file: %w", err)}
	}
	return sealed.New(key)
}

// readiness is the server's /health check: the database answers with a
// schema this binary knows, and an artifact store that can be asked (S3)
// answers too — asked at most every pingEvery, so that frequent probes do
// not each reach S3.
func readiness(store *sqlstore.Store, art artifact.Store) func(ctx context.Context) error {
	const pingEvery = 5 * time.Second
	var (
		mu      sync.Mutex
		checked time.Time
		last    error
	)
	return func(ctx context.Context) error {
		if err := store.CheckSchema(ctx); err != nil { // also fails when the database does not answer
			return err
		}
		p, ok := art.(artifact.Pinger)
		if !ok {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if time.Since(checked) >= pingEvery || last != nil {
			last, checked = p.Ping(ctx), time.Now()
		}
		return last
	}
}
