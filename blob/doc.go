// Package blob gives random access to bytes in local files, HTTP(S) servers
// (range requests) and S3 (range requests signed with AWS Signature
// Version 4), behind one small interface, Source (io.ReaderAt plus Size,
// Name and Close). Remote sources also implement MultiReader, which reads
// many ranges (COG tiles) in few parallel requests. Use the package function
// ReadRanges to read ranges from any Source.
//
// # Opening
//
// Open(ctx, uri, opt) takes a local path, file://path, http(s)://... or
// s3://bucket/key. Opening a remote object costs one request: a GET of the
// first Options.HeaderBytes bytes (64 KiB by default), which tells the size
// (Content-Range), the ETag and Last-Modified, and is kept in memory so
// that reading a file header (TIFF IFDs) needs no further request. Stat
// costs one 1-byte request; List lists S3 prefixes (ListObjectsV2, all
// pages) and local directories.
//
// # Reading
//
// ReadAt and ReadRanges are safe for concurrent use. ReadRanges sorts the
// ranges, merges those that overlap or lie within Options.MergeGap bytes of
// each other into one request of at most Options.MaxRequest bytes (larger
// ranges are split), and runs at most Options.Concurrency requests at once.
// Its results may share backing arrays (each is capped). Every range must
// lie inside the object (else ErrRange, before any request).
//
// Each request must be answered 206 with exactly the Content-Range asked
// for and, if the object had an ETag, the same ETag (else ErrChanged: the
// object was replaced while being read). A server that ignores Range
// (answers 200 with the whole body) is accepted at Open for objects up to
// Options.MaxNoRange bytes, which are then kept whole in memory; otherwise
// ErrNoRange.
//
// # Retries
//
// Each attempt has its own timeout (Options.RequestTimeout, body read
// included). Attempts that fail with 408, 429, 500, 502, 503, 504 (or the S3
// codes SlowDown, RequestTimeout, InternalError), an attempt timeout, a reset
// or dropped connection or a body cut short are retried up to
// Options.MaxAttempts in all, after an exponential backoff with jitter (or
// the server's Retry-After, capped at Options.RetryMax). Cancelling the
// context stops at once. The final error names the operation, the URI, the
// range and the number of attempts.
//
// # Errors
//
// Errors start with "blob: " and name the URI. Unexpected statuses are
// *HTTPError (with the S3 error code and message when the body has one),
// which wraps fs.ErrNotExist (404, NoSuchKey) or fs.ErrPermission (401, 403,
// refused credentials), so errors.Is(err, fs.ErrNotExist) works for local
// and remote objects alike.
//
// # S3
//
// S3Options documents how endpoint, region, addressing (path or virtual
// host) and credentials are chosen, from Options.S3 first and the standard
// AWS environment variables second (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
// AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_NO_SIGN_REQUEST). Without credentials requests are
// unsigned (public buckets). GETs are signed with UNSIGNED-PAYLOAD. Not
// supported: credential files and profiles, instance/role credentials,
// following a bucket's region redirect, writing.
//
// # Resources
//
// All requests go through Options.Client: share one *http.Client between
// sources. Options.Stats counts requests, retries and bytes fetched. The
// package has no global state.
package blob
