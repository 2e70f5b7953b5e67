package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/sqlstore"
)

func init() { register(newTokenCmd) }

func newTokenCmd(e *env) *cobra.Command {
	var f dbFlags
	c := &cobra.Command{
		Use:   "token",
		Short: "Manage users' API tokens (create, list, revoke)",
		Long: `Manage the API tokens of users, for MLflow clients (MLFLOW_TRACKING_TOKEN) and
the native API (Authorization: Bearer). Only a hash of a token is stored:
create prints the token once. These commands act on the database directly,
like posml user.`,
	}
	f.add(c)
	c.AddCommand(newTokenCreateCmd(e, &f), newTokenListCmd(e, &f), newTokenRevokeCmd(e, &f))
	return c
}

func newTokenCreateCmd(e *env, f *dbFlags) *cobra.Command {
	var user, name, expires string
	c := &cobra.Command{
		Use:     "create --user NAME",
		Short:   "Create a token for a user and print it (once)",
		Example: `  export MLFLOW_TRACKING_TOKEN=$(posml token create --user alice --name laptop --expires 90d)`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return &usageError{fmt.Errorf("--user is required")}
			}
			var ttl time.Duration
			if expires != "" {
				var err error
				if ttl, err = parseDays(expires); err != nil || ttl <= 0 {
					return &usageError{fmt.Errorf("--expires %q: want a duration such as 90d or 12h", expires)}
				}
			}
			return f.withStore(cmd, e, func(ctx context.Context, s *sqlstore.Store) error {
				tok, t, err := auth.NewUsers(s).CreateToken(ctx, user, name, ttl)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, tok)
				exp := "never expires"
				if !t.ExpiresAt.IsZero() {
					exp = "expires " + t.ExpiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(e.stderr, "token %d of %s created (%s); it is shown only now\n", t.ID, t.User, exp)
				return nil
			})
		},
	}
	c.Flags().StringVar(&user, "user", "", "the user the token acts as (required)")
	c.Flags().StringVar(&name, "name", "", "a label, to tell the tokens apart")
	c.Flags().StringVar(&expires, "expires", "", "lifetime, e.g. 90d or 12h (default: never expires)")
	return c
}

// parseDays is time.ParseDuration that also takes days ("90d").
func parseDays(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(s)
}

func newTokenListCmd(e *env, f *dbFlags) *cobra.Command {
	var user string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the tokens (not their text, which is not stored)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withStore(cmd, e, func(ctx context.Context, s *sqlstore.Store) error {
				ts, err := s.UserTokens(ctx, user)
				if err != nil {
					return err
				}
				when := func(t time.Time, zero string) string {
					if t.IsZero() {
						return zero
					}
					return t.Format("2006-01-02 15:04Z")
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tNAME\tCREATED\tLAST USED\tEXPIRES")
				for _, t := range ts {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Name, when(t.CreatedAt, ""), when(t.LastUsedAt, "never"), when(t.ExpiresAt, "never"))
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().StringVar(&user, "user", "", "only this user's tokens")
	return c
}

func newTokenRevokeCmd(e *env, f *dbFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by its ID (see token list)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return &usageError{fmt.Errorf("token ID %q: want a number (see posml token list)", args[0])}
			}
			return f.withStore(cmd, e, func(ctx context.Context, s *sqlstore.Store) error {
				if err := s.DeleteUserToken(ctx, id); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked token %d\n", id)
				return nil
			})
		},
	}
}
