package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/mlflowapi"
	"github.com/posml/posml/internal/sqlstore"
)

func init() { register(newUserCmd) }

// dbFlags are the database flags of the commands that act on the
// database directly (user, token), as for `posml migrate`.
type dbFlags struct{ db, dataDir string }

func (f *dbFlags) add(c *cobra.Command) {
	c.PersistentFlags().StringVar(&f.db, "db", "", "database URL: sqlite:///relative.db, sqlite:////absolute.db or postgres://... (env POSML_DB; default SQLite in the data directory)")
	c.PersistentFlags().StringVar(&f.dataDir, "data-dir", defaultDataDir, "directory of the default SQLite database (env POSML_DATA_DIR)")
}

// withStore opens the database (migrating it), runs f and closes it.
func (f *dbFlags) withStore(cmd *cobra.Command, e *env, run func(ctx context.Context, s *sqlstore.Store) error) (err error) {
	db, dataDir := f.db, f.dataDir
	if !cmd.Flags().Changed("data-dir") {
		if v := e.getenv("POSML_DATA_DIR"); v != "" {
			dataDir = v
		}
	}
	if !cmd.Flags().Changed("db") {
		if v := e.getenv("POSML_DB"); v != "" {
			db = v
		}
	}
	if db == "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return err
		}
		db = "sqlite:///" + filepath.Join(dataDir, "posml.db")
	}
	store, err := sqlstore.Open(cmd.Context(), sqlstore.Config{URL: db})
	if err != nil {
		return fmt.Errorf("open database %s: %w", redactURL(db), err)
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	if err := store.CheckSchema(cmd.Context()); err != nil {
		return err
	}
	return run(cmd.Context(), store)
}

func newUserCmd(e *env) *cobra.Command {
	var f dbFlags
	c := &cobra.Command{
		Use:   "user",
		Short: "Manage the users who log in to the UI and APIs (add, list, rm)",
		Long: `Manage the users of a server that requires authentication (see posml server
--require-auth). These commands act on the database directly, so an operator
can create the first user before the server runs. The database is --db
(POSML_DB), else SQLite in --data-dir (POSML_DATA_DIR, ./posml-data), as for
posml server.`,
	}
	f.add(c)
	c.AddCommand(newUserAddCmd(e, &f), newUserListCmd(e, &f), newUserRmCmd(e, &f))
	return c
}

func newUserAddCmd(e *env, f *dbFlags) *cobra.Command {
	var admin bool
	var passwordFile string
	c := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user; the password is read from --password-file or the first line of stdin",
		Example: `  posml user add alice --password-file /run/secrets/alice
  printf '%s\n' "$PASSWORD" | posml user add alice --admin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(e.stdin, passwordFile)
			if err != nil {
				return err
			}
			return f.withStore(cmd, e, func(ctx context.Context, s *sqlstore.Store) error {
				u, err := auth.NewUsers(s).AddUser(ctx, args[0], pw, admin)
				if err != nil {
					return err
				}
				role := "user"
				if u.Admin {
					role = "admin"
				}
				fmt.Fprintf(e.stdout, "added %s %s\n", role, u.Name)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	c.Flags().StringVar(&passwordFile, "password-file", "", "file whose first line is the password (default: stdin)")
	return c
}

// readPassword returns the first line of the file, or of stdin.
func readPassword(stdin io.Reader, file string) (string, error) {
	r := stdin
	if file != "" {
		fh, err := os.Open(file)
		if err != nil {
			return "", &usageError{fmt.Errorf("--password-file: %w", err)}
		}
		defer fh.Close()
		r = fh
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", &usageError{errors.New("no password: give --password-file, or the password on stdin")}
	}
	return line, nil
}

func newUserListCmd(e *env, f *dbFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withStore(cmd, e, func(ctx context.Context, s *sqlstore.Store) error {
				us, err := s.Users(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tADMIN\tCREATED")
				for _, u := range us {
					fmt.Fprintf(tw, "%s\t%t\t%s\n", u.Name, u.Admin, u.CreatedAt.Format("2006-01-02 15:04Z"))
				}
				return tw.Flush()
			})
		},
	}
}

func newUserRmCmd(e *env, f *dbFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a user with their tokens and sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withStore(cmd, e, func(ctx context.Context, s *sqlstore.Store) error {
				if err := s.DeleteUser(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "removed user %s\n", args[0])
				return nil
			})
		},
	}
}

// authRequired decides whether `posml server` on addr requires
// authentication: --require-auth turns it on, --no-auth off, and
// otherwise it is on for any address but a loopback one.
func authRequired(addr string, require, noAuth bool) (bool, error) {
	switch {
	case require && noAuth:
		return false, &usageError{errors.New("--require-auth and --no-auth contradict each other")}
	case noAuth:
		return false, nil
	case require:
		return true, nil
	}
	return !isLoopback(addr), nil
}

// isLoopback reports whether a listen address binds the loopback
// interface only: localhost, 127.0.0.0/8 or ::1. An empty host (all
// interfaces) or any other name is not.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// usersOrNil keeps a nil *auth.Users from becoming a non-nil interface.
func usersOrNil(u *auth.Users) mlflowapi.UserVerifier {
	if u == nil {
		return nil
	}
	return u
}

// warnNoUsers logs a warning when authentication is on and nobody can
// log in yet.
func warnNoUsers(ctx context.Context, store *sqlstore.Store, log *slog.Logger) {
	us, err := store.Users(ctx)
	if err == nil && len(us) == 0 {
		log.Warn("authentication is required but there are no users yet: add one with `posml user add NAME`")
	}
}
