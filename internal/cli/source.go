package cli

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/restapi"
)

func init() { register(newSourceCmd) }

func newSourceCmd(e *env) *cobra.Command {
	var cf clientFlags
	c := &cobra.Command{
		Use:   "source",
		Short: "Manage the named sources marts read from",
		Long: `A source is a named connection kept on the server: a PostgreSQL, MySQL or
SQLite database, or a directory of CSV/Parquet files. Its DSN is a secret:
the server stores it and never shows it again.

Every subcommand talks to the server at --url, else $POSML_URL, else
` + defaultServerURL + `.`,
	}
	cf.add(c, true)
	c.AddCommand(newSourceAddCmd(e, &cf), newSourceListCmd(e, &cf), newSourceRmCmd(e, &cf))
	return c
}

func newSourceAddCmd(e *env, cf *clientFlags) *cobra.Command {
	var kind, dsn, dsnFile string
	c := &cobra.Command{
		Use:   "add NAME --kind postgres|mysql|sqlite|files (--dsn DSN | --dsn-file FILE)",
		Short: "Add a source (the server checks that it can connect)",
		Long: `Add a source. The DSN is a postgres:// URL, a MySQL DSN
(user:pass@tcp(host:3306)/db), a SQLite file path or a directory, as the
server sees it. Prefer --dsn-file (- reads stdin) to keep a password out
of the shell history and the process list.`,
		Example: `  posml source add warehouse --kind postgres --dsn-file ./warehouse.dsn
  echo "$DSN" | posml source add shop --kind mysql --dsn-file -
  posml source add lake --kind files --dsn /srv/data`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (dsn == "") == (dsnFile == "") {
				return &usageError{errors.New("give exactly one of --dsn and --dsn-file")}
			}
			if dsnFile != "" {
				var b []byte
				var err error
				if dsnFile == "-" {
					b, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20))
				} else {
					b, err = os.ReadFile(dsnFile)
				}
				if err != nil {
					return &usageError{fmt.Errorf("--dsn-file: %w", err)}
				}
				dsn = strings.TrimSpace(string(b))
			}
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var src restapi.Source
			if err := cl.do(cmd.Context(), "POST", "/api/posml/sources", restapi.AddSource{Name: args[0], Kind: kind, DSN: dsn}, &src); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, src)
			}
			fmt.Fprintf(e.stdout, "source %s (%s) added\n", src.Name, src.Kind)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&kind, "kind", "", "postgres, mysql, sqlite or files")
	f.StringVar(&dsn, "dsn", "", "connection string, SQLite file or directory (as the server sees it)")
	f.StringVar(&dsnFile, "dsn-file", "", "read the DSN from this file (- for stdin)")
	c.MarkFlagRequired("kind")
	return c
}

func newSourceListCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the sources (never their DSNs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var out struct {
				Sources []restapi.Source `json:"sources"`
			}
			if err := cl.do(cmd.Context(), "GET", "/api/posml/sources", nil, &out); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, out)
			}
			var rows [][]string
			for _, s := range out.Sources {
				rows = append(rows, []string{s.Name, s.Kind, when(&s.CreatedAt)})
			}
			return table(e.stdout, []string{"NAME", "KIND", "ADDED"}, rows)
		},
	}
}

func newSourceRmCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a source that no mart uses",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			if err := cl.do(cmd.Context(), "DELETE", "/api/posml/sources/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if !cf.asJSON {
				fmt.Fprintf(e.stdout, "source %s removed\n", args[0])
			}
			return nil
		},
	}
}
