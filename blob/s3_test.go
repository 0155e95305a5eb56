package blob

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"testing"
)

// s3Opt are options for the test server with the given credentials.
func s3Opt(endpoint, access, secret string, stats *Stats) Options {
	return Options{
		Stats:  stats,
		Getenv: func(string) string { return "" },
		S3:     S3Options{Endpoint: endpoint, AccessKeyID: access, SecretAccessKey: secret},
	}
}

func TestS3ReadSigned(t *testing.T) {
	data := randomBytes(3<<20, 11)
	endpoint := s3Fixture(t, "scenes", map[string][]byte{
		"T31UDQ/2024/B04 (10m).tif": data,
		"T31UDQ/2024/B08.tif":       data[:1000],
		"T31UDQ/2024/empty.tif":     {},
		"other/x.tif":               data[:10],
	})
	var st Stats
	src := mustOpen(t, t.Context(), "s3://scenes/T31UDQ/2024/B04 (10m).tif", s3Opt(endpoint, s3AccessKey, s3SecretKey, &st))
	if src.Size() != int64(len(data)) {
		t.Fatalf("size %d, want %d", src.Size(), len(data))
	}
	ranges := []Range{{100, 1000}, {1 << 20, 256 << 10}, {1<<20 + 256<<10, 256 << 10}, {3<<20 - 7, 7}}
	out, err := ReadRanges(t.Context(), src, ranges)
	if err != nil {
		t.Fatal(err)
	}
	checkRanges(t, data, ranges, out)
	if st.Requests() != 3 { // open (header) + merged tiles + last bytes
		t.Errorf("%d requests, want 3", st.Requests())
	}

	info, err := Stat(t.Context(), "s3://scenes/T31UDQ/2024/empty.tif", s3Opt(endpoint, s3AccessKey, s3SecretKey, nil))
	if err != nil || info.Size != 0 {
		t.Errorf("Stat empty object = %+v, %v", info, err)
	}

	list, err := List(t.Context(), "s3://scenes/T31UDQ/", s3Opt(endpoint, s3AccessKey, s3SecretKey, nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list {
		names = append(names, o.Name)
	}
	want := "s3://scenes/T31UDQ/2024/B04 (10m).tif s3://scenes/T31UDQ/2024/B08.tif s3://scenes/T31UDQ/2024/empty.tif"
	if strings.Join(names, " ") != want || list[0].Size != int64(len(data)) || list[1].Size != 1000 {
		t.Errorf("List = %+v", list)
	}

	_, err = Open(t.Context(), "s3://scenes/T31UDQ/2024/missing.tif", s3Opt(endpoint, s3AccessKey, s3SecretKey, nil))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "s3://scenes/T31UDQ/2024/missing.tif") {
		t.Errorf("missing key: %v, want fs.ErrNotExist naming the URI", err)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	endpoint := s3Fixture(t, "private", map[string][]byte{"a.tif": randomBytes(1000, 12)})
	for name, opt := range map[string]Options{
		"wrong secret": s3Opt(endpoint, s3AccessKey, "not-the-secret", nil),
		"unknown key":  s3Opt(endpoint, "nobody", "nothing", nil),
		"anonymous":    s3Opt(endpoint, "", "", nil),
	} {
		_, err := Open(t.Context(), "s3://private/a.tif", opt)
		var he *HTTPError
		if !errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) || !errors.As(err, &he) {
			t.Errorf("%s: err = %v, want an HTTPError wrapping fs.ErrPermission", name, err)
			continue
		}
		// Versity answers an unknown access key 404 XAdminUserNotFound
		// (AWS: 403 InvalidAccessKeyId); the others are 403.
		if name != "unknown key" && he.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, he.StatusCode)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestS3Anonymous(t *testing.T) {
	data := randomBytes(200000, 13)
	endpoint := s3Fixture(t, "public", map[string][]byte{"cog.tif": data})
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",` +
		`"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::public","arn:aws:s3:::public/*"]}]}`
	s3Put(t, endpoint, "/public?policy", []byte(policy))

	opt := s3Opt(endpoint, "", "", nil)
	opt.Getenv = func(k string) string { // credentials in the env are ignored
		return map[string]string{"AWS_NO_SIGN_REQUEST": "YES", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}[k]
	}
	src := mustOpen(t, t.Context(), "s3://public/cog.tif", opt)
	out, err := ReadRanges(t.Context(), src, []Range{{150000, 50000}})
	if err != nil {
		t.Fatal(err)
	}
	checkRanges(t, data, []Range{{150000, 50000}}, out)
	list, err := List(t.Context(), "s3://public/", opt)
	if err != nil || len(list) != 1 || list[0].Size != int64(len(data)) {
		t.Errorf("anonymous List = %+v, %v", list, err)
	}
}

func TestS3EnvAndVirtualHost(t *testing.T) {
	data := randomBytes(100000, 14)
	endpoint := s3Fixture(t, "vhost", map[string][]byte{"k/x.tif": data})
	// Virtual-host addressing: Host is vhost.localhost:port; the client
	// dials the server's loopback address whatever the name.
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, strings.TrimPrefix(endpoint, "http://"))
		},
	}}
	env := map[string]string{
		"AWS_ENDPOINT_URL":      "http://localhost:" + s3srv.port,
		"AWS_REGION":            "us-east-1",
		"AWS_ACCESS_KEY_ID":     s3AccessKey,
		"AWS_SECRET_ACCESS_KEY": s3SecretKey,
	}
	opt := Options{Client: client, Getenv: func(k string) string { return env[k] }, S3: S3Options{Addressing: VirtualHost}}
	src := mustOpen(t, t.Context(), "s3://vhost/k/x.tif", opt)
	p := make([]byte, 30000)
	if _, err := src.ReadAt(p, 70000); err != nil || !bytes.Equal(p, data[70000:]) {
		t.Fatalf("ReadAt: %v", err)
	}
	list, err := List(t.Context(), "s3://vhost/k", opt)
	if err != nil || len(list) != 1 || list[0].Name != "s3://vhost/k/x.tif" {
		t.Errorf("List = %+v, %v", list, err)
	}
}
