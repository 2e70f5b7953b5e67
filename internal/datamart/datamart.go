package datamart

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/schedule"
)

// Type is the type of a column: one of the Type constants.
type Type string

// The column types of a snapshot.
const (
	Int64     Type = "int64"
	Float64   Type = "float64"
	String    Type = "string"
	Bool      Type = "bool"
	Timestamp Type = "timestamp"
)

// Column is one column of a snapshot.
type Column struct {
	Name     string `json:"name"`
	Type     Type   `json:"type"`
	Nullable bool   `json:"nullable"`
}

// Kind is the kind of a source.
type Kind string

// The kinds of sources.
const (
	Postgres Kind = "postgres"
	MySQL    Kind = "mysql"
	SQLite   Kind = "sqlite"
	Files    Kind = "files"
)

// Source is a named connection marts read from. DSN is a secret: it is
// stored server-side and never leaves it.
type Source struct {
	Name      string
	Kind      Kind
	DSN       string // connection string, file path or directory
	CreatedAt time.Time
}

// Mart is a named dataset: a file (uploaded, or inside a files source) or
// a query against a SQL source.
type Mart struct {
	ID     string
	Source string // source name; empty for an uploaded file
	Query  string // SQL, for a SQL source
	File   string // the file: inside Source's directory, or the uploaded file's name
	// RefreshSchedule is a schedule spec (the syntax of projects, in UTC);
	// empty: refreshed only by hand.
	RefreshSchedule string
	NextRefresh     *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Snapshot is one immutable materialisation of a mart.
type Snapshot struct {
	MartID    string
	Version   int
	Rows      int64
	Size      int64
	Digest    string // hex SHA-256 of the content (schema and values)
	Columns   []Column
	Query     string // the query or file it was read from
	CreatedAt time.Time
}

// Read records that a pipeline run read a snapshot.
type Read struct {
	PipelineRunID int64
	MartID        string
	Version       int
	Digest        string
	MLflowRunID   string // the MLflow run it was logged to, if any
	ReadAt        time.Time
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// ValidID checks a mart or source name.
func ValidID(what, id string) error {
	if !idRE.MatchString(id) || id == "." || id == ".." {
		return posml.Errorf(posml.KindInvalid, fmt.Sprintf("%s %q: use 1 to 128 letters, digits, '_', '.' or '-'", what, id))
	}
	return nil
}

// Validate checks a source's fields.
func (s Source) Validate() error {
	if err := ValidID("source name", s.Name); err != nil {
		return err
	}
	switch s.Kind {
	case Postgres, MySQL, SQLite, Files:
	default:
		return posml.Errorf(posml.KindInvalid, fmt.Sprintf("source kind %q: want postgres, mysql, sqlite or files", s.Kind))
	}
	if strings.TrimSpace(s.DSN) == "" {
		return posml.Errorf(posml.KindInvalid, "source "+s.Name+": the DSN (or directory, or file) is empty")
	}
	return nil
}

// ParseSchedule parses a refresh schedule (UTC); "" is none.
func ParseSchedule(spec string) (*schedule.Schedule, error) {
	if spec == "" {
		return nil, nil
	}
	s, err := schedule.Parse(spec, time.UTC)
	if err != nil {
		return nil, posml.Errorf(posml.KindInvalid, "refresh_schedule: "+err.Error())
	}
	if s.IsOnce() {
		return nil, posml.Errorf(posml.KindInvalid, "refresh_schedule: @once makes no sense for a mart; create it, it is materialised at once")
	}
	return s, nil
}

// Store keeps the catalog (*sqlstore.Store).
type Store interface {
	CreateMartSource(ctx context.Context, s Source) error
	MartSource(ctx context.Context, name string) (Source, error)
	MartSources(ctx context.Context) ([]Source, error)
	DeleteMartSource(ctx context.Context, name string) error

	CreateMart(ctx context.Context, m Mart) error
	UpdateMart(ctx context.Context, m Mart) error
	Mart(ctx context.Context, id string) (Mart, error)
	Marts(ctx context.Context) ([]Mart, error)
	DeleteMart(ctx context.Context, id string) error
	DueMarts(ctx context.Context, now time.Time) ([]Mart, error)
	ClaimMartRefresh(ctx context.Context, id string, was, next time.Time) (bool, error)

	// AddMartSnapshot stores s with the next version unless the latest
	// snapshot has the same digest; it returns the stored snapshot (or
	// the latest) and whether it is new. version is called with the new
	// version before it is committed, to put the file in place.
	AddMartSnapshot(ctx context.Context, s Snapshot, place func(version int) error) (Snapshot, bool, error)
	MartSnapshots(ctx context.Context, id string) ([]Snapshot, error)
	MartSnapshot(ctx context.Context, id string, version int) (Snapshot, error)

	AddMartRead(ctx context.Context, r Read) error
	MartReads(ctx context.Context, pipelineRunID int64) ([]Read, error)
}
