package datamart

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/posml/posml/internal/pipeline"
	"github.com/posml/posml/internal/tracking"
)

// Tracking is what recording a read on an MLflow run needs
// (*sqlstore.Store).
type Tracking interface {
	RunOutputs(ctx context.Context, run pipeline.RunID) ([]pipeline.Output, error)
	GetRunInfo(ctx context.Context, runID string) (tracking.RunInfo, error)
	LogInputs(ctx context.Context, runID string, datasets []tracking.DatasetInput, models []tracking.ModelInput) error
}

// SourceType is the MLflow dataset source type of mart snapshots.
const SourceType = "posml-mart"

// maxDigest is MLflow's limit on a dataset digest.
const maxDigest = 36

// RecordRead records that a pipeline run read a snapshot: in the catalog,
// and as a dataset input of the pipeline run's most recent RUNNING MLflow
// run, if it has one. url is where the data was read from.
func (s *Service) RecordRead(ctx context.Context, run pipeline.RunID, snap Snapshot, url string) (Read, error) {
	r := Read{PipelineRunID: int64(run), MartID: snap.MartID, Version: snap.Version, Digest: snap.Digest, ReadAt: s.now().UTC()}
	if s.tracking != nil {
		id, err := s.activeMLflowRun(ctx, run)
		if err != nil {
			return r, err
		}
		if id != "" {
			if err := s.tracking.LogInputs(ctx, id, []tracking.DatasetInput{datasetInput(snap, url)}, nil); err != nil {
				return r, fmt.Errorf("log mart input on MLflow run %s: %w", id, err)
			}
			r.MLflowRunID = id
		}
	}
	return r, s.store.AddMartRead(ctx, r)
}

// AttachReads logs every snapshot a pipeline run has read so far as a
// dataset input of one of its MLflow runs. A script usually reads its data
// before it starts its MLflow runs, so the tracking server calls this when
// a run token creates an MLflow run; reads after that are logged by
// RecordRead. It does nothing without a Tracking.
func (s *Service) AttachReads(ctx context.Context, run pipeline.RunID, mlflowRunID string) error {
	if s.tracking == nil {
		return nil
	}
	reads, err := s.store.MartReads(ctx, int64(run))
	if err != nil || len(reads) == 0 {
		return err
	}
	var ins []tracking.DatasetInput
	for _, r := range reads {
		snap, err := s.store.MartSnapshot(ctx, r.MartID, r.Version)
		if err != nil {
			continue // the mart was deleted since
		}
		ins = append(ins, datasetInput(snap, fmt.Sprintf("/api/posml/marts/%s/data?version=%d", r.MartID, r.Version)))
	}
	if len(ins) == 0 {
		return nil
	}
	if err := s.tracking.LogInputs(ctx, mlflowRunID, ins, nil); err != nil {
		return fmt.Errorf("log mart inputs on MLflow run %s: %w", mlflowRunID, err)
	}
	return nil
}

// activeMLflowRun returns the most recent RUNNING MLflow run a pipeline run
// created, or "".
func (s *Service) activeMLflowRun(ctx context.Context, run pipeline.RunID) (string, error) {
	outs, err := s.tracking.RunOutputs(ctx, run)
	if err != nil {
		return "", err
	}
	best, bestStart := "", int64(math.MinInt64)
	for _, o := range outs {
		if o.MLflowRunID == "" || o.ModelName != "" {
			continue
		}
		info, err := s.tracking.GetRunInfo(ctx, o.MLflowRunID)
		if err != nil {
			continue // deleted since
		}
		if info.Status == tracking.RunRunning && info.StartTime >= bestStart {
			best, bestStart = o.MLflowRunID, info.StartTime
		}
	}
	return best, nil
}

// datasetInput is the MLflow dataset of a snapshot.
func datasetInput(snap Snapshot, url string) tracking.DatasetInput {
	digest := snap.Digest
	if len(digest) > maxDigest {
		digest = digest[:maxDigest]
	}
	type colspec struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Required bool   `json:"required"`
	}
	specs := make([]colspec, len(snap.Columns))
	for i, c := range snap.Columns {
		t := map[Type]string{Int64: "long", Float64: "double", String: "string", Bool: "boolean", Timestamp: "datetime"}[c.Type]
		specs[i] = colspec{Type: t, Name: c.Name, Required: !c.Nullable}
	}
	schema, _ := json.Marshal(map[string]any{"mlflow_colspec": specs})
	source, _ := json.Marshal(map[string]any{"url": url, "mart_id": snap.MartID, "version": snap.Version, "digest": snap.Digest})
	profile, _ := json.Marshal(map[string]any{"num_rows": snap.Rows, "num_elements": snap.Rows * int64(len(snap.Columns))})
	return tracking.DatasetInput{
		Tags: []tracking.Tag{{Key: "mlflow.data.context", Value: "training"}},
		Dataset: tracking.Dataset{
			Name: snap.MartID, Digest: digest, SourceType: SourceType, Source: string(source),
			Schema: string(schema), Profile: string(profile),
		},
	}
}

// Reads lists the snapshots a pipeline run read.
func (s *Service) Reads(ctx context.Context, run pipeline.RunID) ([]Read, error) {
	return s.store.MartReads(ctx, int64(run))
}

// WriteCSV writes the rows of r as CSV (the wire contract in doc.go): a
// header row, then one line per row, flushed in chunks, so memory stays
// constant whatever the size.
func WriteCSV(w io.Writer, r *RowReader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	cols := r.Columns()
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	var buf []byte
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		buf = buf[:0]
		for i, c := range cols {
			v := row[i]
			if v.IsNull() {
				rec[i] = ""
				continue
			}
			start := len(buf)
			switch c.Type {
			case Int64:
				buf = strconv.AppendInt(buf, v.Int64(), 10)
			case Float64:
				buf = appendFloat(buf, v.Double())
			case Bool:
				buf = strconv.AppendBool(buf, v.Boolean())
			case Timestamp:
				buf = time.UnixMicro(v.Int64()).UTC().AppendFormat(buf, time.RFC3339Nano)
			default:
				rec[i] = string(v.ByteArray())
				continue
			}
			rec[i] = string(buf[start:])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
