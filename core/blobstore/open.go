package blobstore

import (
	"context"
	"fmt"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
)

// Open returns the blob store the `evidence` block configures. It does not reach out
// to S3: an unreachable bucket must not keep the rest of Aegis from starting. Check
// says whether the store answers.
func Open(c config.Evidence) (core.BlobStore, error) {
	switch c.Backend {
	case "", config.BackendDisk:
		return NewDisk(c.Path)
	case config.BackendS3:
		return NewS3(S3Options{Endpoint: c.S3.Endpoint, Bucket: c.S3.Bucket, Region: c.S3.Region,
			AccessKey: c.S3.AccessKey, SecretKey: c.S3.SecretKey, Prefix: c.S3.Prefix, UseSSL: c.S3.UseSSL,
			PartSize: uint64(c.S3.PartSize)})
	}
	return nil, fmt.Errorf("evidence: unknown backend %q (disk or s3)", c.Backend)
}

// Check reports whether a store can be reached: for S3, that the bucket exists and the
// credentials open it; a disk store was checked when it was opened.
func Check(ctx context.Context, s core.BlobStore) error {
	if c, ok := s.(interface{ Check(context.Context) error }); ok {
		return c.Check(ctx)
	}
	return nil
}
