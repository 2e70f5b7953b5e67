// Package promotion decides, after a train run succeeds, whether its best
// model becomes the champion of each registered model the project names:
// champion/challenger on mlflow.target_metric in its direction, with every
// decision stored (both values, the direction, the reason) and notified.
//
// It works on the store through a small interface (*sqlstore.Store) and
// must not import net/http or database/sql.
package promotion
