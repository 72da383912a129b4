package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/aegis-sec/aegis/core"
)

// S3Options say where an S3 store keeps its blobs.
type S3Options struct {
	Endpoint  string // host[:port]
	Bucket    string
	Region    string
	AccessKey string // empty: ambient credentials (environment, then instance role)
	SecretKey string
	Prefix    string // key prefix inside the bucket
	UseSSL    bool
	// PartSize is the multipart chunk an upload of unknown length is sent in, and so
	// the memory one upload holds at a time. Default 16 MiB (objects up to ~160 GiB).
	PartSize uint64
}

// S3 stores blobs as objects of one bucket on any S3-compatible server.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
	part   uint64
}

var _ core.BlobStore = (*S3)(nil)

// NewS3 connects to the server; it does not create the bucket (an operator decides
// where evidence lives and with which retention), but Check tells whether it exists.
func NewS3(o S3Options) (*S3, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, errors.New("evidence: s3 store needs an endpoint and a bucket")
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
	})
	if o.AccessKey != "" {
		creds = credentials.NewStaticV4(o.AccessKey, o.SecretKey, "")
	}
	// Three attempts, not minio-go's ten: an S3 server that is gone fails an upload
	// (and the removal of its start) in about a second instead of ten each, while a
	// brief refusal or a 503 SlowDown is still ridden out.
	c, err := minio.New(o.Endpoint, &minio.Options{Creds: creds, Secure: o.UseSSL, Region: o.Region, MaxRetries: 3})
	if err != nil {
		return nil, fmt.Errorf("evidence: s3 client for %s: %w", o.Endpoint, err)
	}
	if o.PartSize == 0 {
		o.PartSize = 16 << 20
	}
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: c, bucket: o.Bucket, prefix: prefix, part: o.PartSize}, nil
}

// Client exposes the minio client, for tests that need to create buckets or tamper
// with objects.
func (s *S3) Client() *minio.Client { return s.client }

// Check verifies that the bucket exists and the credentials reach it.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("evidence: s3 bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("evidence: s3 bucket %s does not exist", s.bucket)
	}
	return nil
}

func (s *S3) object(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put streams r as a multipart upload of unknown length: one part is held in memory
// at a time, and an upload that fails is aborted, so no object appears under key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, s.bucket, obj, r, -1, minio.PutObjectOptions{
		ContentType: "application/octet-stream", PartSize: s.part})
	if err != nil {
		return fmt.Errorf("evidence: put %s: %w", key, err)
	}
	return nil
}

// AbortIncomplete aborts the multipart uploads under prefix begun before cutoff: an
// upload the S3 server stopped answering in the middle of could not be aborted then.
func (s *S3) AbortIncomplete(ctx context.Context, prefix string, cutoff time.Time) (int, error) {
	var keys []string
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.prefix+prefix, true) {
		if u.Err != nil {
			return 0, fmt.Errorf("evidence: list incomplete uploads under %s: %w", prefix, u.Err)
		}
		if u.Initiated.Before(cutoff) {
			keys = append(keys, u.Key)
		}
	}
	for _, k := range keys {
		if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, k); err != nil {
			return 0, fmt.Errorf("evidence: abort the incomplete upload of %s: %w", strings.TrimPrefix(k, s.prefix), err)
		}
	}
	return len(keys), nil
}

func isNoSuchKey(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// Get opens the object. It stats first, so a missing object is reported here and not
// on the first Read.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, err
	}
	o, err := s.client.GetObject(ctx, s.bucket, obj, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("evidence: get %s: %w", key, err)
	}
	if _, err := o.Stat(); err != nil {
		o.Close()
		if isNoSuchKey(err) {
			return nil, core.Errorf(core.ENOTFOUND, "blob %s not found", key)
		}
		return nil, fmt.Errorf("evidence: get %s: %w", key, err)
	}
	return o, nil
}

// Stat returns the object's size and time.
func (s *S3) Stat(ctx context.Context, key string) (core.BlobInfo, error) {
	obj, err := s.object(key)
	if err != nil {
		return core.BlobInfo{}, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			return core.BlobInfo{}, core.Errorf(core.ENOTFOUND, "blob %s not found", key)
		}
		return core.BlobInfo{}, fmt.Errorf("evidence: stat %s: %w", key, err)
	}
	return core.BlobInfo{Key: key, Size: info.Size, ModTime: info.LastModified.UTC()}, nil
}

// Delete removes the object; S3 deletes of missing objects succeed.
func (s *S3) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("evidence: delete %s: %w", key, err)
	}
	return nil
}

// List lists the bucket's objects under the store's prefix.
func (s *S3) List(ctx context.Context, prefix string, fn func(core.BlobInfo) error) error {
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("evidence: list %s: %w", prefix, obj.Err)
		}
		key := strings.TrimPrefix(obj.Key, s.prefix)
		if CheckKey(key) != nil {
			continue
		}
		if err := fn(core.BlobInfo{Key: key, Size: obj.Size, ModTime: obj.LastModified.UTC()}); err != nil {
			return err
		}
	}
	return nil
}
