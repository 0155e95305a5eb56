package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// credentials are AWS access keys; SessionToken is for temporary ones.
type credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

const (
	unsignedPayload = "UNSIGNED-PAYLOAD"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	amzDateFormat   = "20060102T150405Z"
)

// signV4 signs req with AWS Signature Version 4 in the Authorization
// header. payloadHash is the hex SHA-256 of the body or UNSIGNED-PAYLOAD.
// Signed headers: host, range, content-type, content-md5 and every x-amz-*
// header (X-Amz-Date, X-Amz-Content-Sha256 and X-Amz-Security-Token are
// set here).
func signV4(req *http.Request, c credentials, region, service string, now time.Time, payloadHash string) {
	now = now.UTC()
	amzDate := now.Format(amzDateFormat)
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if c.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	creq, signed := canonicalRequest(req, payloadHash)
	scope := now.Format("20060102") + "/" + region + "/" + service + "/aws4_request"
	sum := sha256.Sum256([]byte(creq))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])

	key := []byte("AWS4" + c.SecretAccessKey)
	for _, part := range []string{now.Format("20060102"), region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.AccessKeyID+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalRequest returns the SigV4 canonical request of req and its
// signed header list. The path is used as sent (already URI-encoded, S3
// does not encode twice).
func canonicalRequest(req *http.Request, payloadHash string) (creq, signedHeaders string) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	headers := map[string]string{"host": host}
	for k, v := range req.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") || lk == "range" || lk == "content-type" || lk == "content-md5" {
			vals := make([]string, len(v))
			for i, s := range v {
				vals[i] = strings.Join(strings.Fields(s), " ")
			}
			headers[lk] = strings.Join(vals, ",")
		}
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	slices.Sort(names)
	var hb strings.Builder
	for _, k := range names {
		hb.WriteString(k + ":" + headers[k] + "\n")
	}
	signedHeaders = strings.Join(names, ";")

	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	q := req.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var qs []string
	for _, k := range keys {
		vals := slices.Clone(q[k])
		slices.Sort(vals)
		for _, v := range vals {
			qs = append(qs, uriEncode(k, false)+"="+uriEncode(v, false))
		}
	}
	creq = req.Method + "\n" + path + "\n" + strings.Join(qs, "&") + "\n" + hb.String() + "\n" + signedHeaders + "\n" + payloadHash
	return creq, signedHeaders
}

// uriEncode percent-encodes every byte but the RFC 3986 unreserved ones
// (and '/' when keepSlash), as SigV4 and S3 key paths require.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
