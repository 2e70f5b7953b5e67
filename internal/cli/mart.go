package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/auth"
	"github.com/posml/posml/internal/datamart"
	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/restapi"
	"github.com/posml/posml/internal/sqlstore"
)

func init() { register(newMartCmd) }

// newMartServer builds the data mart service of `posml server` (snapshots
// under <data-dir>/marts; reads with a run token recorded on the run's
// MLflow run) and the REST API's configuration for it. The server runs
// svc.Run(ctx, martRefreshInterval) for the refresh schedules.
//
// With an S3 artifact store, snapshots are kept there (the data dir is then
// only a cache), so every replica can serve every snapshot.
func newMartServer(store *sqlstore.Store, dataDir string, art artifact.Store, log *slog.Logger) (*datamart.Service, *restapi.MartsConfig) {
	cfg := datamart.Config{Dir: filepath.Join(dataDir, "marts"), Tracking: store, Log: log}
	if s3, ok := art.(*artifact.S3); ok {
		cfg.Objects = datamart.ObjectFuncs{
			PutFunc: s3.Put,
			GetFunc: func(ctx context.Context, key string) (io.ReadCloser, error) {
				rc, _, err := s3.Open(ctx, key)
				return rc, err
			},
			DeleteFunc: s3.Delete,
		}
	}
	svc := datamart.New(store, cfg)
	return svc, &restapi.MartsConfig{Service: svc, Tokens: auth.New(store, auth.Config{})}
}

// martLineageStore is the store as the tracking server should see it
// (mlflowapi.Handler(martLineageStore{store, svc}, ...)): when a run token
// creates an MLflow run, the marts its pipeline run has read so far become
// the MLflow run's dataset inputs (scripts read their data before they
// start their runs).
type martLineageStore struct {
	*sqlstore.Store
	marts *datamart.Service
}

// AddRunOutput records the output, then attaches the pipeline run's mart
// reads to a new MLflow run.
func (s martLineageStore) AddRunOutput(ctx context.Context, o pipeline.Output) error {
	if err := s.Store.AddRunOutput(ctx, o); err != nil {
		return err
	}
	if o.MLflowRunID == "" || o.ModelName != "" {
		return nil
	}
	return s.marts.AttachReads(ctx, o.RunID, o.MLflowRunID)
}

// martRefreshInterval is how often the server looks for marts due for a
// scheduled refresh.
const martRefreshInterval = 30 * time.Second

func newMartCmd(e *env) *cobra.Command {
	var cf clientFlags
	c := &cobra.Command{
		Use:   "mart",
		Short: "Manage data marts: versioned snapshots of files or SQL queries",
		Long: `A mart is a named dataset (the mart_id of src/config.yaml) defined over an
uploaded CSV or Parquet file, a file of a "files" source, or a SQL query
against a source (see posml source). Each refresh materialises an
immutable, versioned Parquet snapshot on the server; identical content
makes no new version. Python reads a mart with workbenchPy.GetMartData.

Every subcommand talks to the server at --url, else $POSML_URL, else
` + defaultServerURL + `.`,
	}
	cf.add(c, true)
	c.AddCommand(newMartCreateCmd(e, &cf), newMartRefreshCmd(e, &cf), newMartListCmd(e, &cf),
		newMartShowCmd(e, &cf), newMartSnapshotsCmd(e, &cf), newMartDataCmd(e, &cf), newMartRmCmd(e, &cf))
	return c
}

func newMartCreateCmd(e *env, cf *clientFlags) *cobra.Command {
	var from, query, source, file, sched string
	c := &cobra.Command{
		Use:   "create ID (--from FILE | --sql QUERY --source NAME | --source NAME --file PATH)",
		Short: "Create a mart and materialise its first snapshot",
		Long: `Create a mart. --from uploads a local CSV (with a header row) or Parquet
file; uploading again to the same ID makes a new version when the content
changed. --sql runs a query against a SQL source (give it an ORDER BY: the
snapshot keeps the query's row order). --file names a file inside a files
source's directory on the server. --refresh-schedule (the schedule syntax
of projects, in UTC) makes the server refresh the mart by itself.`,
		Example: `  posml mart create dm_f_20085_2212_142 --from iris.csv
  posml mart create sales --sql "SELECT * FROM sales ORDER BY id" --source warehouse --refresh-schedule @daily
  posml mart create lake_iris --source lake --file iris/iris.parquet`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			switch {
			case from != "" && (query != "" || source != "" || file != ""):
				return &usageError{errors.New("--from uploads a file: give it without --sql, --source or --file")}
			case from == "" && source == "":
				return &usageError{errors.New("give --from FILE, or --source NAME with --sql or --file")}
			case source != "" && (query == "") == (file == ""):
				return &usageError{errors.New("--source needs exactly one of --sql and --file")}
			}
			ctx := cmd.Context()
			if from != "" {
				var res restapi.MartSnapshot
				err := withSpinner(e, "uploading "+filepath.Base(from), func() error { return cl.uploadMart(ctx, id, from, sched, &res) })
				if err != nil {
					return err
				}
				if cf.asJSON {
					return printJSON(e.stdout, res)
				}
				printSnapshotLine(e.stdout, id, res.Snapshot, res.Created)
				return nil
			}
			var m restapi.Mart
			err = withSpinner(e, "materialising "+id, func() error {
				return cl.do(ctx, "POST", "/api/posml/marts", restapi.CreateMart{ID: id, Source: source, Query: query, File: file, RefreshSchedule: sched}, &m)
			})
			if err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, m)
			}
			if m.Latest != nil {
				printSnapshotLine(e.stdout, id, *m.Latest, true)
			}
			if query != "" && !orderByRE.MatchString(query) {
				fmt.Fprintln(e.stderr, "note: the query has no ORDER BY, so its row order (and a model trained on it) may change between refreshes")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "upload this local .csv or .parquet file")
	f.StringVar(&query, "sql", "", "the SQL query of the mart (with --source)")
	f.StringVar(&source, "source", "", "the source to read from (see posml source list)")
	f.StringVar(&file, "file", "", "a file inside a files source's directory (with --source)")
	f.StringVar(&sched, "refresh-schedule", "", "refresh by itself on this schedule (cron or @hourly, @daily, ...; UTC)")
	return c
}

// uploadMart PUTs a local file as a mart's definition.
func (c *client) uploadMart(ctx context.Context, id, path, sched string, out any) error {
	f, err := os.Open(path)
	if err != nil {
		return &usageError{err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	q := url.Values{"name": {filepath.Base(path)}}
	if sched != "" {
		q.Set("refresh_schedule", sched)
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", c.base+"/api/posml/marts/"+url.PathEscape(id)+"/file?"+q.Encode(), f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cannot reach the posml server at %s: %v (start it with `posml server`, or point --url or POSML_URL at it)", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb restapi.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
			return &apiError{status: resp.StatusCode, code: eb.Error.Code, msg: eb.Error.Message}
		}
		return &apiError{status: resp.StatusCode, code: "http", msg: "upload: " + resp.Status}
	}
	return json.Unmarshal(b, out)
}

var orderByRE = regexp.MustCompile(`(?i)\border\s+by\b`)

// withSpinner runs f, showing what it does with the elapsed time on a
// terminal's stderr.
func withSpinner(e *env, what string, f func() error) error {
	if !isTerminal(e.stderr) {
		return f()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // waited for below
		defer wg.Done()
		frames := `|/-\`
		start := time.Now()
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				fmt.Fprint(e.stderr, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(e.stderr, "\r%c %s  %s", frames[i%4], what, time.Since(start).Truncate(100*time.Millisecond))
			}
		}
	}()
	err := f()
	close(done)
	wg.Wait()
	return err
}

func shortDigest(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

func printSnapshotLine(w io.Writer, id string, s restapi.Snapshot, created bool) {
	state := "new"
	if !created {
		state = "unchanged"
	}
	fmt.Fprintf(w, "mart %s: version %d (%s), %d rows, %d columns, %s, digest %s\n",
		id, s.Version, state, s.Rows, len(s.Columns), humanBytes(s.Size), shortDigest(s.Digest))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + " B"
}

func newMartRefreshCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "refresh ID",
		Short:   "Materialise a new snapshot of a mart now",
		Example: `  posml mart refresh sales`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var res restapi.MartSnapshot
			err = withSpinner(e, "refreshing "+args[0], func() error {
				return cl.do(cmd.Context(), "POST", "/api/posml/marts/"+url.PathEscape(args[0])+"/refresh", nil, &res)
			})
			if err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, res)
			}
			printSnapshotLine(e.stdout, args[0], res.Snapshot, res.Created)
			return nil
		},
	}
}

// martDefinition says what a mart reads, in a few words.
func martDefinition(m restapi.Mart) string {
	switch {
	case m.Source == "":
		return "upload " + m.File
	case m.File != "":
		return m.Source + ": " + m.File
	}
	return m.Source + ": " + firstLine(m.Query, 50)
}

func newMartListCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the marts with their latest snapshot",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			var out struct {
				Marts []restapi.Mart `json:"marts"`
			}
			if err := cl.do(cmd.Context(), "GET", "/api/posml/marts", nil, &out); err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, out)
			}
			var rows [][]string
			for _, m := range out.Marts {
				v, n, at := "-", "-", "-"
				if s := m.Latest; s != nil {
					v, n, at = strconv.Itoa(s.Version), strconv.FormatInt(s.Rows, 10), when(&s.CreatedAt)
				}
				rows = append(rows, []string{m.ID, v, n, at, orDash(m.RefreshSchedule), martDefinition(m)})
			}
			return table(e.stdout, []string{"ID", "VERSION", "ROWS", "SNAPSHOT AT", "SCHEDULE", "DEFINITION"}, rows)
		},
	}
}

func getMart(ctx context.Context, cl *client, id string) (restapi.Mart, error) {
	var m restapi.Mart
	err := cl.do(ctx, "GET", "/api/posml/marts/"+url.PathEscape(id), nil, &m)
	return m, err
}

func newMartShowCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a mart: its definition, latest snapshot and columns",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			m, err := getMart(cmd.Context(), cl, args[0])
			if err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, m)
			}
			w := e.stdout
			fmt.Fprintf(w, "Mart:       %s\n", m.ID)
			switch {
			case m.Source == "":
				fmt.Fprintf(w, "Uploaded:   %s\n", m.File)
			case m.File != "":
				fmt.Fprintf(w, "Source:     %s\nFile:       %s\n", m.Source, m.File)
			default:
				fmt.Fprintf(w, "Source:     %s\nQuery:      %s\n", m.Source, strings.ReplaceAll(m.Query, "\n", "\n            "))
			}
			fmt.Fprintf(w, "Schedule:   %s (next %s)\n", orDash(m.RefreshSchedule), when(m.NextRefresh))
			fmt.Fprintf(w, "Versions:   %d\n", len(m.Snapshots))
			if s := m.Latest; s != nil {
				fmt.Fprintf(w, "Latest:     version %d, %d rows, %s, %s\n", s.Version, s.Rows, humanBytes(s.Size), when(&s.CreatedAt))
				fmt.Fprintf(w, "Digest:     %s\n\n", s.Digest)
				var rows [][]string
				for _, c := range s.Columns {
					null := ""
					if c.Nullable {
						null = "has nulls"
					}
					rows = append(rows, []string{c.Name, string(c.Type), null})
				}
				return table(w, []string{"COLUMN", "TYPE", "NULLS"}, rows)
			}
			return nil
		},
	}
}

func newMartSnapshotsCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshots ID",
		Short: "List a mart's snapshots, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			m, err := getMart(cmd.Context(), cl, args[0])
			if err != nil {
				return err
			}
			if cf.asJSON {
				return printJSON(e.stdout, map[string]any{"snapshots": m.Snapshots})
			}
			var rows [][]string
			for _, s := range m.Snapshots {
				rows = append(rows, []string{strconv.Itoa(s.Version), strconv.FormatInt(s.Rows, 10), strconv.Itoa(len(s.Columns)),
					humanBytes(s.Size), shortDigest(s.Digest), when(&s.CreatedAt)})
			}
			return table(e.stdout, []string{"VERSION", "ROWS", "COLUMNS", "SIZE", "DIGEST", "CREATED"}, rows)
		},
	}
}

func newMartRmCmd(e *env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID",
		Short: "Delete a mart and all its snapshots",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			if err := cl.do(cmd.Context(), "DELETE", "/api/posml/marts/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if !cf.asJSON {
				fmt.Fprintf(e.stdout, "mart %s removed\n", args[0])
			}
			return nil
		},
	}
}

func newMartDataCmd(e *env, cf *clientFlags) *cobra.Command {
	var (
		version int
		format  string
		output  string
	)
	c := &cobra.Command{
		Use:   "data ID",
		Short: "Download a snapshot's data (CSV by default) to stdout or a file",
		Example: `  posml mart data dm_f_20085_2212_142 | head
  posml mart data sales --version 3 --format parquet -o sales-v3.parquet`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if format != "csv" && format != "parquet" {
				return &usageError{fmt.Errorf("--format %q: want csv or parquet", format)}
			}
			cl, err := cf.client(e)
			if err != nil {
				return err
			}
			q := url.Values{"format": {format}}
			if version > 0 {
				q.Set("version", strconv.Itoa(version))
			}
			resp, err := cl.send(cmd.Context(), "GET", "/api/posml/marts/"+url.PathEscape(args[0])+"/data?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			w := e.stdout
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return &usageError{err}
				}
				defer func() {
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}()
				w = f
			}
			if _, err := io.Copy(w, resp.Body); err != nil {
				return fmt.Errorf("download mart %s: %w", args[0], err)
			}
			if output != "" && output != "-" {
				fmt.Fprintf(e.stderr, "mart %s version %s: %s rows written to %s\n", args[0],
					resp.Header.Get("X-Posml-Snapshot"), resp.Header.Get("X-Posml-Rows"), output)
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&version, "version", 0, "snapshot version (default: the latest)")
	f.StringVar(&format, "format", "csv", "csv or parquet")
	f.StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	return c
}
