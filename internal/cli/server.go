package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/server"
	"github.com/posml/posml/internal/sqlstore"
)

func init() { register(newServerCmd) }

// serverConfig is the resolved configuration of `posml server`.
type serverConfig struct {
	Addr         string
	DataDir      string
	DB           string // database URL
	ArtifactsDir string
	LogLevel     slog.Level
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
		Short: "Run the tracking server (MLflow REST API, artifact proxy)",
		Long: `Run posml's server: the MLflow-compatible tracking API under /api/2.0/mlflow/
and /ajax-api/2.0/mlflow/, the artifact proxy under /api/2.0/mlflow-artifacts/,
/health, /version and Prometheus /metrics. Point an MLflow client at it with
MLFLOW_TRACKING_URI=http://ADDR.

Each setting comes from its flag, else its environment variable, else the
default: --addr (POSML_ADDR, 127.0.0.1:5000), --data-dir (POSML_DATA_DIR,
./posml-data), --db (POSML_DB, SQLite in the data directory),
--artifacts-destination (POSML_ARTIFACTS_DESTINATION, <data-dir>/artifacts).

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
			cfg.DB = pick("db", "POSML_DB", "sqlite:///"+filepath.Join(cfg.DataDir, "posml.db"))
			cfg.ArtifactsDir = pick("artifacts-destination", "POSML_ARTIFACTS_DESTINATION", filepath.Join(cfg.DataDir, "artifacts"))
			if err := cfg.LogLevel.UnmarshalText([]byte(pick("log-level", "POSML_LOG_LEVEL", "info"))); err != nil {
				return &usageError{fmt.Errorf("--log-level: %w", err)}
			}
			return runServer(cmd.Context(), e, cfg)
		},
	}
	f := c.Flags()
	f.StringVar(&addr, "addr", defaultServerAddr, "listen address (env POSML_ADDR)")
	f.StringVar(&dataDir, "data-dir", defaultDataDir, "directory for the SQLite database and artifacts (env POSML_DATA_DIR)")
	f.StringVar(&db, "db", "", "database URL: sqlite:///relative.db, sqlite:////absolute.db or postgres://... (env POSML_DB; default SQLite in the data directory)")
	f.StringVar(&artifacts, "artifacts-destination", "", "directory where proxied artifacts are stored (env POSML_ARTIFACTS_DESTINATION; default <data-dir>/artifacts)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error (env POSML_LOG_LEVEL)")
	return c
}

// runServer opens the stores and serves until ctx ends.
func runServer(ctx context.Context, e *env, cfg serverConfig) (err error) {
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	store, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DB})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	art, err := artifact.OpenLocal(artifact.LocalConfig{Dir: cfg.ArtifactsDir})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, art.Close()) }()
	log.Info("posml server starting", "version", version, "db", redactURL(cfg.DB), "dialect", store.Dialect(), "artifacts", cfg.ArtifactsDir)
	srv := server.New(server.Config{
		Addr:      cfg.Addr,
		Version:   version,
		Tracking:  mlflowapi.Handler(store, art, log),
		Artifacts: artifact.Handler(art, log),
		Log:       log,
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
