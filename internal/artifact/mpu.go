package artifact

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/posml/posml"
)

// MultipartStore is a Store whose clients can upload a large file in parts
// straight to the storage behind it, the way MLflow's proxied multipart
// upload works (mlflow/store/artifact/s3_artifact_repo.py): the server
// starts an upload and hands out one presigned URL per part, the client
// PUTs each part to its URL and keeps the ETag of the answer, and the
// server then completes the upload with those ETags, or aborts it.
// Handler serves the mpu/create, mpu/complete and mpu/abort routes for a
// store that implements it, and answers 501 (so that the client falls
// back to a plain PUT) for one that does not.
//
// The file appears, atomically, when CompleteMultipartUpload returns.
// CreateMultipartUpload refuses what Put refuses.
type MultipartStore interface {
	Store

	// CreateMultipartUpload starts an upload of the file at path in
	// numParts parts (0 to 10,000) and returns where to send each.
	CreateMultipartUpload(ctx context.Context, path string, numParts int) (MultipartUpload, error)

	// CompleteMultipartUpload assembles the uploaded parts into the file
	// at path. An unknown upload is a not-found error, missing or wrong
	// parts an invalid one.
	CompleteMultipartUpload(ctx context.Context, path, uploadID string, parts []UploadedPart) error

	// AbortMultipartUpload discards an upload and the parts sent so far.
	AbortMultipartUpload(ctx context.Context, path, uploadID string) error
}

// MultipartUpload is a started multipart upload.
type MultipartUpload struct {
	UploadID    string
	Credentials []PartCredential // one per part, in order
}

// PartCredential tells the client where to PUT one part, and with which
// extra headers.
type PartCredential struct {
	URL        string
	PartNumber int // from 1
	Headers    map[string]string
}

// UploadedPart is a part the client has uploaded: its number and the ETag
// the storage answered its PUT with.
type UploadedPart struct {
	PartNumber int
	ETag       string
}

// maxMPURequest bounds the JSON body of an mpu request: a complete request
// for 10,000 parts, each echoing its presigned URL, stays well below it.
const maxMPURequest = 32 << 20

// intLike is an int64 field that protobuf's JSON mapping lets arrive as a
// number or as a string.
type intLike int64

func (n *intLike) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = intLike(v)
	return nil
}

// mpuRequest is the body of the three mpu routes
// (mlflow/protos/mlflow_artifacts.proto CreateMultipartUpload,
// CompleteMultipartUpload, AbortMultipartUpload).
type mpuRequest struct {
	Path     *string `json:"path"` // the client's local file; its base name names the artifact
	NumParts intLike `json:"num_parts"`
	UploadID string  `json:"upload_id"`
	Parts    *[]struct {
		PartNumber intLike `json:"part_number"`
		ETag       string  `json:"etag"`
		URL        string  `json:"url"`
	} `json:"parts"`
}

type credentialJSON struct {
	URL        string            `json:"url"`
	PartNumber int               `json:"part_number"`
	Headers    map[string]string `json:"headers"`
}

type createMPUJSON struct {
	UploadID    string           `json:"upload_id"`
	Credentials []credentialJSON `json:"credentials"`
}

// multipart serves POST mpu/{create,complete,abort}/<dir> over store: the
// artifact is <dir>/<base name of the request's "path">, as in MLflow's
// handlers (_create_multipart_upload_artifact and the like).
func (h *proxy) multipart(w http.ResponseWriter, r *http.Request, store MultipartStore, op, dir string) error {
	var req mpuRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxMPURequest))
	if err := dec.Decode(&req); err != nil && err != io.EOF { // no body: no fields
		return &posml.Error{Kind: posml.KindInvalid, Msg: "Malformed request body: " + err.Error()}
	}
	if req.Path == nil {
		return missingParam("path")
	}
	// The client sends its own local path: cut at either separator, so
	// that a Windows client's path gives the file name too.
	name := *req.Path
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	if name == "" {
		return invalidPath()
	}
	p, err := CleanPath(dir + "/" + name)
	if err != nil {
		return err
	}
	ctx := r.Context()
	switch op {
	case "create":
		mu, err := store.CreateMultipartUpload(ctx, p, int(req.NumParts))
		if err != nil {
			return err
		}
		resp := createMPUJSON{UploadID: mu.UploadID, Credentials: make([]credentialJSON, len(mu.Credentials))}
		for i, c := range mu.Credentials {
			headers := c.Headers
			if headers == nil {
				headers = map[string]string{}
			}
			resp.Credentials[i] = credentialJSON{URL: c.URL, PartNumber: c.PartNumber, Headers: headers}
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	case "complete":
		if req.Parts == nil {
			return missingParam("parts")
		}
		parts := make([]UploadedPart, len(*req.Parts))
		for i, part := range *req.Parts {
			parts[i] = UploadedPart{PartNumber: int(part.PartNumber), ETag: part.ETag}
		}
		if err := store.CompleteMultipartUpload(ctx, p, req.UploadID, parts); err != nil {
			return err
		}
	default: // "abort"
		if err := store.AbortMultipartUpload(ctx, p, req.UploadID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// missingParam is MLflow's error for a required field left out
// (mlflow/server/handlers.py _assert_required).
func missingParam(name string) error {
	return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf(
		"Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)}
}
