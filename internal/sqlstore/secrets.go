package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/posml/posml/internal/sealed"
)

// The columns that hold secrets; each is sealed with its name as purpose.
var secretColumns = []struct{ table, key, column string }{
	{"projects", "id", "cred_token"},
	{"projects", "id", "cred_ssh_key"},
	{"projects", "id", "cred_webhook_secret"},
	{"mart_sources", "name", "dsn"},
}

// seal encrypts a secret for table.column with Config.Secrets, if any.
func (s *Store) seal(column, plain string) (string, error) {
	v, err := s.box.Seal(column, plain)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", column, err)
	}
	return v, nil
}

// open decrypts a stored secret of table.column (or returns a plain one).
func (s *Store) open(column, stored string) (string, error) {
	v, err := s.box.Open(column, stored)
	if err != nil {
		return "", fmt.Errorf("%s: %w", column, err)
	}
	return v, nil
}

// SealSecrets encrypts, with Config.Secrets, the secrets stored in plain
// text (from before the server had a key) and returns how many it sealed.
// Without a key it does nothing. Each value is replaced only if it is still
// the plain one read, so concurrent writers and replicas are safe.
func (s *Store) SealSecrets(ctx context.Context) (int, error) {
	if s.box == nil {
		return 0, nil
	}
	n := 0
	for _, c := range secretColumns {
		type row struct{ key, val string }
		var plain []row
		q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s <> '' AND %s NOT LIKE '%s%%'`,
			c.key, c.column, c.table, c.column, c.column, sealed.Prefix)
		err := s.scanEach(ctx, q, nil, func(rows *sql.Rows) error {
			var r row
			if err := rows.Scan(&r.key, &r.val); err != nil {
				return err
			}
			plain = append(plain, r)
			return nil
		})
		if err != nil {
			return n, internal("seal secrets", err)
		}
		for _, r := range plain {
			v, err := s.seal(c.table+"."+c.column, r.val)
			if err != nil {
				return n, err
			}
			err = s.inTx(ctx, func(t *tx) error {
				res, err := t.exec(fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?`, c.table, c.column, c.key, c.column), v, r.key, r.val)
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k == 1 {
					n++
				}
				return nil
			})
			if err != nil {
				return n, internal("seal secrets", err)
			}
		}
	}
	return n, nil
}
