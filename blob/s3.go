package blob

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Addressing selects how the bucket appears in S3 request URLs.
type Addressing int

const (
	// AddressingAuto uses path style with a custom endpoint (MinIO and
	// most S3-compatible servers) or when the bucket name is not a valid
	// DNS label, and virtual-host style for AWS otherwise.
	AddressingAuto Addressing = iota
	// PathStyle: https://endpoint/bucket/key.
	PathStyle
	// VirtualHost: https://bucket.endpoint/key.
	VirtualHost
)

// S3Options configures s3:// access. Empty fields are taken from the
// environment through Options.Getenv:
//
//	Endpoint         AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, else
//	                 https://s3.<Region>.amazonaws.com
//	Region           AWS_REGION, then AWS_DEFAULT_REGION, else us-east-1
//	AccessKeyID      AWS_ACCESS_KEY_ID
//	SecretAccessKey  AWS_SECRET_ACCESS_KEY
//	SessionToken     AWS_SESSION_TOKEN
//	Anonymous        AWS_NO_SIGN_REQUEST=YES (or true, 1)
//
// Requests are signed with AWS Signature Version 4 when an access key and
// secret are known and Anonymous is false; otherwise they are sent
// unsigned, which public buckets accept.
type S3Options struct {
	Endpoint   string // scheme://host[:port], e.g. http://127.0.0.1:9000
	Region     string
	Addressing Addressing

	AccessKeyID, SecretAccessKey, SessionToken string
	Anonymous                                  bool
}

// s3Config is S3Options resolved against the environment.
type s3Config struct {
	endpoint  *url.URL
	region    string
	pathStyle bool
	creds     *credentials // nil: anonymous
	now       func() time.Time
}

func resolveS3(o Options, bucket string) (*s3Config, error) {
	s := o.S3
	env := o.Getenv
	first := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	c := &s3Config{now: o.Now}
	c.region = first(s.Region, env("AWS_REGION"), env("AWS_DEFAULT_REGION"), "us-east-1")
	ep := first(s.Endpoint, env("AWS_ENDPOINT_URL_S3"), env("AWS_ENDPOINT_URL"))
	custom := ep != ""
	if !custom {
		ep = "https://s3." + c.region + ".amazonaws.com"
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("blob: bad S3 endpoint %q (want http(s)://host[:port])", ep)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c.endpoint = u
	switch s.Addressing {
	case PathStyle:
		c.pathStyle = true
	case VirtualHost:
	default:
		c.pathStyle = custom || !dnsCompatible(bucket) || (u.Scheme == "https" && strings.Contains(bucket, "."))
	}
	noSign := strings.ToLower(env("AWS_NO_SIGN_REQUEST"))
	if !s.Anonymous && noSign != "yes" && noSign != "true" && noSign != "1" {
		cr := credentials{s.AccessKeyID, s.SecretAccessKey, s.SessionToken}
		if cr.AccessKeyID == "" && cr.SecretAccessKey == "" {
			cr = credentials{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")}
		}
		if (cr.AccessKeyID == "") != (cr.SecretAccessKey == "") {
			return nil, fmt.Errorf("blob: S3 credentials need both an access key ID and a secret")
		}
		if cr.AccessKeyID != "" {
			c.creds = &cr
		}
	}
	return c, nil
}

// dnsCompatible reports whether bucket can be a host name label.
func dnsCompatible(bucket string) bool {
	if len(bucket) < 3 || len(bucket) > 63 {
		return false
	}
	for i := 0; i < len(bucket); i++ {
		c := bucket[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return bucket[0] != '-' && bucket[len(bucket)-1] != '-'
}

// url returns the request URL for key in bucket ("" key: the bucket).
func (c *s3Config) url(bucket, key string) string {
	u := *c.endpoint
	path := "/" + uriEncode(key, true)
	if c.pathStyle {
		path = "/" + uriEncode(bucket, false) + path
	} else {
		u.Host = bucket + "." + u.Host
	}
	u.Path, u.RawPath = "", ""
	return u.String() + c.endpoint.Path + path
}

// bucketURL is the URL of the bucket itself, for listing.
func (c *s3Config) bucketURL(bucket string) string {
	u := c.url(bucket, "")
	if c.pathStyle {
		u = strings.TrimSuffix(u, "/")
	}
	return u
}

// sign is the requester hook: SigV4 with UNSIGNED-PAYLOAD for bodiless
// requests, nothing when anonymous.
func (c *s3Config) sign(req *http.Request) error {
	if c.creds != nil {
		signV4(req, *c.creds, c.region, "s3", c.now(), unsignedPayload)
	}
	return nil
}

// explain adds what the caller can do about a refused request.
func (c *s3Config) explain(err error) error {
	if err != nil && errors.Is(err, fs.ErrPermission) && c.creds == nil {
		return fmt.Errorf("%w (request was unsigned: no credentials in Options.S3 or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)", err)
	}
	return err
}

// parseS3 splits s3://bucket/key.
func parseS3(uri string) (bucket, key string, err error) {
	rest := uri[len("s3://"):]
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("blob: %s: no bucket (want s3://bucket/key)", uri)
	}
	return bucket, key, nil
}

func openS3(ctx context.Context, uri string, opt Options) (Source, error) {
	bucket, key, err := parseS3(uri)
	if err != nil {
		return nil, err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, fmt.Errorf("blob: %s: not an object key", uri)
	}
	opt = opt.withDefaults()
	c, err := resolveS3(opt, bucket)
	if err != nil {
		return nil, err
	}
	src, err := openRange(ctx, uri, c.url(bucket, key), opt, c.sign)
	if err != nil {
		return nil, c.explain(err)
	}
	return src, nil
}

// listResult is the part of a ListObjectsV2 answer used here.
type listResult struct {
	IsTruncated           bool
	NextContinuationToken string
	Contents              []struct {
		Key          string
		Size         int64
		ETag         string
		LastModified time.Time
	}
}

// maxListBody bounds one ListObjectsV2 answer (1000 keys of up to 1 KiB
// each, with XML around them, stay well below).
const maxListBody = 16 << 20

func listS3(ctx context.Context, uri string, opt Options) ([]Info, error) {
	bucket, prefix, err := parseS3(uri)
	if err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	c, err := resolveS3(opt, bucket)
	if err != nil {
		return nil, err
	}
	r := &requester{opt: opt, prepare: c.sign}
	var out []Info
	token := ""
	for page := 1; ; page++ {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		reqURL := c.bucketURL(bucket) + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
		var res listResult
		err := retry(ctx, &opt, fmt.Sprintf("list %s (page %d)", uri, page), func(ctx context.Context) error {
			resp, err := r.get(ctx, reqURL, "")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return httpError(resp)
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxListBody+1))
			if err != nil {
				return err
			}
			if len(body) > maxListBody {
				return fmt.Errorf("ListObjectsV2 answer over %d bytes", maxListBody)
			}
			res = listResult{}
			if err := xml.Unmarshal(body, &res); err != nil {
				return fmt.Errorf("bad ListObjectsV2 answer: %v", err)
			}
			return nil
		})
		if err != nil {
			return nil, c.explain(err)
		}
		for _, o := range res.Contents {
			out = append(out, Info{Name: "s3://" + bucket + "/" + o.Key, Size: o.Size, ETag: o.ETag, ModTime: o.LastModified})
		}
		if !res.IsTruncated {
			return out, nil
		}
		if res.NextContinuationToken == "" || res.NextContinuationToken == token {
			return nil, fmt.Errorf("blob: list %s: truncated answer without a new continuation token", uri)
		}
		token = res.NextContinuationToken
	}
}
