package artifact

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// benchSize is the file size of BenchmarkS3Transfer: 256 MiB, or
// POSML_BENCH_S3_MB mebibytes (1024 for the 1 GiB target).
func benchSize(b *testing.B) int64 {
	if v := os.Getenv("POSML_BENCH_S3_MB"); v != "" {
		mb, err := strconv.Atoi(v)
		if err != nil || mb <= 0 {
			b.Fatalf("POSML_BENCH_S3_MB=%q: want a positive number", v)
		}
		return int64(mb) << 20
	}
	return 256 << 20
}

// heapPeak samples the live heap every few milliseconds until stop is
// called, which returns the peak above the heap at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		if peak < base {
			return 0
		}
		return peak - base
	}
}

// BenchmarkS3Transfer uploads and downloads one large file to the test S3
// server, once with an S3 client directly and once through the artifact
// proxy over an S3 store, and reports the rates and, for the proxy, the
// peak growth of the live heap (client and server share the process; the
// client side streams and holds almost nothing). Run it with
//
//	go test ./internal/artifact -run '^$' -bench S3Transfer -benchtime 1x
func BenchmarkS3Transfer(b *testing.B) {
	size := benchSize(b)
	ctx := context.Background()
	s, client, bucket := openTestS3(b, 0)
	srv := httptest.NewServer(Handler(s, nil))
	defer srv.Close()
	const p = "1/bench/artifacts/blob.bin"
	key := "root/" + p
	newBody := func() *genReader {
		return &genReader{src: rand.NewChaCha8([32]byte{1}), left: size, sum: sha256.New()}
	}
	report := func(b *testing.B, heap uint64) {
		b.SetBytes(size)
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(size)/(1<<20)/sec, "MiB/s")
		if heap > 0 {
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		}
	}

	b.Run(fmt.Sprintf("direct-upload-%dMiB", size>>20), func(b *testing.B) {
		for b.Loop() {
			if _, err := client.PutObject(ctx, bucket, key, newBody(), size, minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, 0)
	})
	b.Run(fmt.Sprintf("proxy-upload-%dMiB", size>>20), func(b *testing.B) {
		stop := heapPeak()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPut, srv.URL+apiArtifacts+p, newBody())
			req.ContentLength = size // as MLflow's client sends a file
			resp, err := srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("PUT = %d %s", resp.StatusCode, body)
			}
		}
		report(b, stop())
	})
	b.Run(fmt.Sprintf("direct-download-%dMiB", size>>20), func(b *testing.B) {
		for b.Loop() {
			obj, err := client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, obj)
			obj.Close()
			if err != nil || n != size {
				b.Fatalf("read %d bytes, %v", n, err)
			}
		}
		report(b, 0)
	})
	b.Run(fmt.Sprintf("proxy-download-%dMiB", size>>20), func(b *testing.B) {
		stop := heapPeak()
		for b.Loop() {
			resp, err := srv.Client().Get(srv.URL + apiArtifacts + p)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size {
				b.Fatalf("read %d bytes, %v", n, err)
			}
		}
		report(b, stop())
	})
}
