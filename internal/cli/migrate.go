package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/sqlstore"
)

func init() { register(newMigrateCmd) }

func newMigrateCmd(e *env) *cobra.Command {
	var db, dataDir string
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the pending database migrations and report the schema version",
		Long: `Apply the database migrations this posml knows and has not yet applied, each
in its own transaction, and print the schema version. ` + "`posml server`" + ` applies them
too when it starts; run this to migrate explicitly, e.g. before rolling out
several replicas. On PostgreSQL concurrent migrations are serialized by an
advisory lock: one applies, the others wait, then find nothing to do.

It fails when the database's schema is newer than this posml knows (a newer
posml migrated it): run that version of posml instead.

The database is --db (POSML_DB), else SQLite in --data-dir (POSML_DATA_DIR,
./posml-data), as for ` + "`posml server`" + `.`,
		Example: `  posml migrate --db postgres://posml:secret@db.internal/posml
  POSML_DB=postgres://... posml migrate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if !cmd.Flags().Changed("data-dir") {
				if v := e.getenv("POSML_DATA_DIR"); v != "" {
					dataDir = v
				}
			}
			if !cmd.Flags().Changed("db") {
				db = e.getenv("POSML_DB")
			}
			if db == "" {
				db = "sqlite:///" + filepath.Join(dataDir, "posml.db")
			}
			store, err := sqlstore.Open(cmd.Context(), sqlstore.Config{URL: db})
			if err != nil {
				return fmt.Errorf("migrate %s: %w", redactURL(db), err)
			}
			defer func() { err = errors.Join(err, store.Close()) }()
			if err := store.CheckSchema(cmd.Context()); err != nil {
				return err
			}
			applied, _, err := store.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "database %s (%s): schema at version %d, up to date\n", redactURL(db), store.Dialect(), applied)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&db, "db", "", "database URL: sqlite:///relative.db, sqlite:////absolute.db or postgres://... (env POSML_DB; default SQLite in the data directory)")
	f.StringVar(&dataDir, "data-dir", defaultDataDir, "directory of the default SQLite database (env POSML_DATA_DIR)")
	return c
}
