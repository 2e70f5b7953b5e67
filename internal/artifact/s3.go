package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/posml/posml"
)

// Defaults of an S3 store.
const (
	defaultS3Region   = "us-east-1"
	defaultS3PartSize = 16 << 20 // S3's minimum is 5 MiB
	defaultS3Threads  = 4
	// smallPutSize is the most Put buffers to send a file in one request;
	// a longer body goes up in parts of S3Config.PartSize.
	smallPutSize = 1 << 20
	// presignExpiry is how long the part URLs of a multipart upload are
	// valid; boto3's default, which MLflow uses.
	presignExpiry = time.Hour
	// maxParts is S3's limit on the parts of one upload.
	maxParts = 10000
)

// S3Config configures an S3 store. The CLI fills it from the destination
// URI and the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION, MLFLOW_S3_ENDPOINT_URL); nothing here reads
// the environment.
type S3Config struct {
	// Bucket holds the artifacts, below Prefix ("" for the whole bucket).
	// ParseS3URI splits an s3://bucket/prefix URI into the two.
	Bucket, Prefix string
	// Endpoint is the URL of an S3-compatible server such as MinIO
	// (http://127.0.0.1:9000), addressed path-style; "" is AWS S3, addressed
	// by virtual host.
	Endpoint string
	// Region defaults to us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey (and SessionToken, for temporary
	// credentials) sign the requests. Without them the store asks the
	// instance's IAM role (EC2, ECS, EKS) for credentials.
	AccessKeyID, SecretAccessKey, SessionToken string
	// PartSize is the size of the parts a large Put is uploaded in, and
	// Threads how many of them are in flight at once; a Put holds at most
	// Threads×PartSize bytes. Defaults: 16 MiB and 4.
	PartSize int64
	Threads  int
	// Transport, if set, carries the requests (tests and benchmarks).
	Transport http.RoundTripper
}

// ParseS3URI splits s3://bucket/prefix into the bucket and the prefix
// (without surrounding slashes).
func ParseS3URI(uri string) (bucket, prefix string, err error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("invalid S3 URI %q: want s3://bucket[/prefix]", uri)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		if _, err := cleanStorePath(prefix); err != nil || strings.Contains(prefix, "//") {
			return "", "", fmt.Errorf("invalid S3 URI %q: bad prefix", uri)
		}
	}
	return u.Host, prefix, nil
}

// S3 is a Store that keeps artifacts as objects in an S3 bucket, below a
// key prefix, through the MinIO Go client. A store path p is the key
// <prefix>/p; a directory is a key prefix that some object lies below.
//
// It has the observable behaviour of Local: Put refuses a path that is a
// directory or lies below a file, checking first (S3 itself would keep
// both), and uploads a long body in parts of bounded size, so that memory
// does not grow with the file; Open streams the object; List pages through
// the keys with the delimiter "/"; Delete removes a file or every object
// below a prefix. S3's PUT and multipart completion are atomic, so readers
// never see part of a file. An S3 is safe for concurrent use.
//
// S3 also implements MultipartStore: the proxy's multipart-upload
// endpoints hand the client presigned URLs to upload the parts to S3
// directly, as MLflow's S3 artifact repository does.
type S3 struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string // "" or ending in "/"
	partSize uint64
	threads  uint
	bufs     sync.Pool // *[]byte of smallPutSize
}

var (
	_ Store          = (*S3)(nil)
	_ MultipartStore = (*S3)(nil)
	_ Pinger         = (*S3)(nil)
)

// OpenS3 connects to the bucket cfg.Bucket and checks that it exists.
func OpenS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("artifact: open s3 store: no bucket given")
	}
	opts := &minio.Options{
		Region:    cfg.Region,
		Transport: cfg.Transport,
	}
	if opts.Region == "" {
		opts.Region = defaultS3Region
	}
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		opts.Creds = credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	} else {
		opts.Creds = credentials.NewIAM("")
	}
	host := "s3.amazonaws.com"
	opts.Secure = true
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("artifact: open s3 store: invalid endpoint URL %q: want http(s)://host[:port]", cfg.Endpoint)
		}
		host, opts.Secure = u.Host, u.Scheme == "https"
		opts.BucketLookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, opts)
	if err != nil {
		return nil, fmt.Errorf("artifact: open s3 store: %w", err)
	}
	s := &S3{
		client:   client,
		core:     minio.Core{Client: client},
		bucket:   cfg.Bucket,
		partSize: defaultS3PartSize,
		threads:  defaultS3Threads,
	}
	if p := strings.Trim(cfg.Prefix, "/"); p != "" {
		s.prefix = p + "/"
	}
	if cfg.PartSize > 0 {
		s.partSize = uint64(max(cfg.PartSize, 5<<20))
	}
	if cfg.Threads > 0 {
		s.threads = uint(cfg.Threads)
	}
	s.bufs.New = func() any {
		b := make([]byte, smallPutSize)
		return &b
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("artifact: open s3 store: bucket %s: %w", cfg.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("artifact: open s3 store: bucket %s does not exist", cfg.Bucket)
	}
	return s, nil
}

// key returns the object key of the clean store path p.
func (s *S3) key(p string) string { return s.prefix + p }

// dirPrefix returns the key prefix of the objects below the directory p.
func (s *S3) dirPrefix(p string) string {
	if p == "" {
		return s.prefix
	}
	return s.prefix + p + "/"
}

// Put implements Store. A body of at most 1 MiB goes up in one request;
// a longer one as a multipart upload in parts of PartSize, which S3
// assembles atomically at the end and which is aborted if anything fails.
func (s *S3) Put(ctx context.Context, p string, r io.Reader) (int64, error) {
	clean, err := s.writable(ctx, p)
	if err != nil {
		return 0, err
	}
	buf := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(buf)
	rr := &recordingReader{r: ctxReader{ctx, r}}
	n, err := io.ReadFull(rr, *buf)
	opts := minio.PutObjectOptions{ContentType: contentType(clean)}
	var body io.Reader
	size := int64(-1)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		body, size = bytes.NewReader((*buf)[:n]), int64(n)
	case err != nil:
		return 0, s.putError(clean, err)
	default:
		body = io.MultiReader(bytes.NewReader(*buf), rr)
		opts.PartSize, opts.NumThreads, opts.ConcurrentStreamParts = s.partSize, s.threads, s.threads > 1
	}
	info, err := s.client.PutObject(ctx, s.bucket, s.key(clean), body, size, opts)
	if err != nil {
		if rr.err != nil {
			err = rr.err
		}
		return 0, s.putError(clean, err)
	}
	return info.Size, nil
}

// writable checks that a file may be written at p: not the root, not a
// reserved name, not a directory, not below a file.
func (s *S3) writable(ctx context.Context, p string) (clean string, err error) {
	clean, err = cleanStorePath(p)
	if err != nil {
		return "", err
	}
	if clean == "" {
		return "", &posml.Error{Kind: posml.KindInvalid, Msg: "Cannot write a file at the artifact root"}
	}
	if strings.HasPrefix(path.Base(clean), tmpPrefix) {
		return "", &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Artifact name '%s' is reserved", path.Base(clean))}
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// One listing for the path itself and a HEAD for each parent, at once.
	parents := parentDirs(clean)
	errs := make([]error, len(parents)+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		isDir, err := s.isDir(ctx, clean)
		if err == nil && isDir {
			err = isDirError(clean)
		}
		errs[0] = err
	})
	for i, dir := range parents {
		wg.Go(func() {
			_, err := s.client.StatObject(ctx, s.bucket, s.key(dir), minio.StatObjectOptions{})
			switch {
			case err == nil:
				errs[i+1] = &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Cannot write '%s': a parent is a file", clean)}
			case !isNoSuchKey(err):
				errs[i+1] = s.storeError(clean, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return "", err
		}
	}
	return clean, nil
}

// parentDirs returns the proper ancestors of the clean path p, the root
// left out: "a", "a/b" for "a/b/c".
func parentDirs(p string) []string {
	var dirs []string
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			dirs = append(dirs, p[:i])
		}
	}
	return dirs
}

// putError classifies a failure of Put; a posml error (such as one from
// the reader) passes through with its kind.
func (s *S3) putError(p string, err error) error {
	if _, ok := errors.AsType[*posml.Error](err); ok {
		return fmt.Errorf("put artifact %s: %w", p, err)
	}
	return s.storeError(p, err)
}

// isDir reports whether some object lies below the directory p.
func (s *S3) isDir(ctx context.Context, p string) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister after the first object
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix: s.dirPrefix(p), Recursive: true, MaxKeys: 1,
	}) {
		if obj.Err != nil {
			return false, s.storeError(p, obj.Err)
		}
		return true, nil
	}
	return false, nil
}

// Open implements Store.
func (s *S3) Open(ctx context.Context, p string) (io.ReadCloser, FileInfo, error) {
	clean, err := cleanStorePath(p)
	if err != nil {
		return nil, FileInfo{}, err
	}
	if clean == "" {
		return nil, FileInfo{}, isDirError(clean)
	}
	if err := ctx.Err(); err != nil {
		return nil, FileInfo{}, err
	}
	rc, info, _, err := s.core.GetObject(ctx, s.bucket, s.key(clean), minio.GetObjectOptions{})
	if err != nil {
		return nil, FileInfo{}, s.missing(ctx, clean, err)
	}
	return rc, FileInfo{Path: path.Base(clean), Size: info.Size}, nil
}

// missing classifies err, a failure to read the file p: a directory at p
// makes it an invalid-path error, no object a not-found error.
func (s *S3) missing(ctx context.Context, p string, err error) error {
	if !isNoSuchKey(err) {
		return s.storeError(p, err)
	}
	isDir, derr := s.isDir(ctx, p)
	switch {
	case derr != nil:
		return derr
	case isDir:
		return isDirError(p)
	}
	return notFound(p, nil)
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, p string) (FileInfo, error) {
	clean, err := cleanStorePath(p)
	if err != nil {
		return FileInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return FileInfo{}, err
	}
	if clean == "" {
		return FileInfo{IsDir: true}, nil // the bucket exists: checked by OpenS3
	}
	info, err := s.client.StatObject(ctx, s.bucket, s.key(clean), minio.StatObjectOptions{})
	if err == nil {
		return FileInfo{Path: path.Base(clean), Size: info.Size}, nil
	}
	if !isNoSuchKey(err) {
		return FileInfo{}, s.storeError(clean, err)
	}
	isDir, err := s.isDir(ctx, clean)
	if err != nil {
		return FileInfo{}, err
	}
	if !isDir {
		return FileInfo{}, notFound(clean, nil)
	}
	return FileInfo{Path: path.Base(clean), IsDir: true}, nil
}

// List implements Store. It pages through the keys below dir with the
// delimiter "/": the common prefixes are the subdirectories, the objects
// the files.
func (s *S3) List(ctx context.Context, dir string) ([]FileInfo, error) {
	clean, err := cleanStorePath(dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefix := s.dirPrefix(clean)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister if we return early
	infos := []FileInfo{}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if obj.Err != nil {
			if isNoSuchKey(obj.Err) {
				break
			}
			return nil, fmt.Errorf("list artifacts %s: %w", clean, obj.Err)
		}
		name, isDir := strings.CutSuffix(strings.TrimPrefix(obj.Key, prefix), "/")
		if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
			continue // the directory's own marker object, or a key no path can name
		}
		info := FileInfo{Path: name, IsDir: isDir}
		if !isDir {
			info.Size = obj.Size
		}
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	return infos, nil
}

// Delete implements Store. A directory's objects are removed in batches
// of up to 1,000 keys (S3's DeleteObjects).
func (s *S3) Delete(ctx context.Context, p string) error {
	clean, err := cleanStorePath(p)
	if err != nil {
		return err
	}
	if clean == "" {
		return &posml.Error{Kind: posml.KindInvalid, Msg: "Cannot delete the artifact root"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err = s.client.StatObject(ctx, s.bucket, s.key(clean), minio.StatObjectOptions{})
	if err == nil {
		if err := s.client.RemoveObject(ctx, s.bucket, s.key(clean), minio.RemoveObjectOptions{}); err != nil {
			return s.storeError(clean, err)
		}
		return nil
	}
	if !isNoSuchKey(err) {
		return s.storeError(clean, err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister if removing fails
	keys := make(chan minio.ObjectInfo)
	var listErr error
	found := false
	listed := make(chan struct{})
	go func() { // ends when the listing does, or once ctx is canceled; waited for below
		defer close(listed)
		defer close(keys)
		for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
			Prefix: s.dirPrefix(clean), Recursive: true,
		}) {
			if obj.Err != nil {
				listErr = obj.Err
				return
			}
			found = true
			select {
			case keys <- obj:
			case <-ctx.Done():
				return
			}
		}
	}()
	var rmErr error
	for e := range s.client.RemoveObjects(ctx, s.bucket, keys, minio.RemoveObjectsOptions{}) {
		if rmErr == nil && e.Err != nil {
			rmErr = e.Err
			cancel()
		}
	}
	cancel() // in case RemoveObjects stopped reading keys early
	<-listed
	switch {
	case rmErr != nil:
		return s.storeError(clean, rmErr)
	case listErr != nil && !isNoSuchKey(listErr):
		return s.storeError(clean, listErr)
	case !found:
		return notFound(clean, nil)
	}
	return nil
}

// CreateMultipartUpload implements MultipartStore: it starts an S3
// multipart upload of the file p and presigns a PUT URL for each of its
// numParts parts (valid for an hour, as in MLflow).
func (s *S3) CreateMultipartUpload(ctx context.Context, p string, numParts int) (MultipartUpload, error) {
	clean, err := s.writable(ctx, p)
	if err != nil {
		return MultipartUpload{}, err
	}
	if numParts < 0 || numParts > maxParts {
		return MultipartUpload{}, &posml.Error{Kind: posml.KindInvalid,
			Msg: fmt.Sprintf("num_parts must be between 1 and %d, got %d", maxParts, numParts)}
	}
	key := s.key(clean)
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{ContentType: contentType(clean)})
	if err != nil {
		return MultipartUpload{}, s.storeError(clean, err)
	}
	mu := MultipartUpload{UploadID: id, Credentials: make([]PartCredential, 0, numParts)}
	for i := 1; i <= numParts; i++ {
		u, err := s.client.Presign(ctx, http.MethodPut, s.bucket, key, presignExpiry,
			url.Values{"partNumber": {strconv.Itoa(i)}, "uploadId": {id}})
		if err != nil {
			_ = s.core.AbortMultipartUpload(context.WithoutCancel(ctx), s.bucket, key, id) // best effort
			return MultipartUpload{}, s.storeError(clean, err)
		}
		mu.Credentials = append(mu.Credentials, PartCredential{URL: u.String(), PartNumber: i, Headers: map[string]string{}})
	}
	return mu, nil
}

// CompleteMultipartUpload implements MultipartStore.
func (s *S3) CompleteMultipartUpload(ctx context.Context, p, uploadID string, parts []UploadedPart) error {
	clean, err := cleanStorePath(p)
	if err != nil {
		return err
	}
	cps := make([]minio.CompletePart, len(parts))
	for i, part := range parts {
		cps[i] = minio.CompletePart{PartNumber: part.PartNumber, ETag: part.ETag}
	}
	slices.SortFunc(cps, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, s.key(clean), uploadID, cps, minio.PutObjectOptions{}); err != nil {
		return s.uploadError(clean, uploadID, err)
	}
	return nil
}

// AbortMultipartUpload implements MultipartStore.
func (s *S3) AbortMultipartUpload(ctx context.Context, p, uploadID string) error {
	clean, err := cleanStorePath(p)
	if err != nil {
		return err
	}
	if err := s.core.AbortMultipartUpload(ctx, s.bucket, s.key(clean), uploadID); err != nil {
		return s.uploadError(clean, uploadID, err)
	}
	return nil
}

// uploadError classifies a failure to complete or abort an upload: the
// client's mistakes (an unknown upload, missing or wrong parts) are not
// failures of the store.
func (s *S3) uploadError(p, uploadID string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchUpload":
		return &posml.Error{Kind: posml.KindNotFound, Msg: fmt.Sprintf("Multipart upload '%s' of '%s' does not exist", uploadID, p), Err: err}
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML", "InvalidRequest":
		return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Cannot complete the upload of '%s': %s", p, minio.ToErrorResponse(err).Message), Err: err}
	}
	return s.storeError(p, err)
}

// storeError classifies a failure of S3 itself: a key S3 refuses is an
// invalid path; anything else is the store's failure.
func (s *S3) storeError(p string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	switch minio.ToErrorResponse(err).Code {
	case "KeyTooLongError":
		return &posml.Error{Kind: posml.KindInvalid, Msg: fmt.Sprintf("Artifact path '%s' is too long", p), Err: err}
	case "NoSuchKey":
		return notFound(p, err)
	}
	return fmt.Errorf("artifact %s: %w", p, err)
}

func isNoSuchKey(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// recordingReader remembers the first error its reader returned other
// than io.EOF, so that Put reports the reader's failure rather than what
// the client library made of it.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// Ping checks that the bucket answers (a HEAD of the bucket), for the
// server's readiness check.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	switch {
	case err != nil:
		return fmt.Errorf("artifact store: bucket %s: %w", s.bucket, err)
	case !ok:
		return fmt.Errorf("artifact store: bucket %s does not exist", s.bucket)
	}
	return nil
}
