package operators

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rasterflow/rasterflow/op"
)

// stacFields are the search settings shared by stac.search and stac.poll.
var stacFields = []op.Field{
	{Name: "url", Type: op.String, Required: true, Doc: "STAC API root (items are searched at URL/search), e.g. https://earth-search.aws.element84.com/v1"},
	{Name: "collections", Type: op.Strings, Doc: "collections to search, e.g. sentinel-2-l2a"},
	{Name: "bbox", Type: op.String, Doc: "area as \"minlon,minlat,maxlon,maxlat\" (WGS84)"},
	{Name: "datetime", Type: op.String, Doc: "acquisition time: an RFC 3339 instant or interval (start/end, \"..\" for open); plain dates (2024-06-01) are taken as whole days in UTC"},
	{Name: "max_cloud", Type: op.Float, Min: op.Bound(0), Max: op.Bound(100), Doc: "only items with eo:cloud_cover below this percentage (sent to the server and checked on each item)"},
	{Name: "cloud_filter", Type: op.String, Default: "query", Enum: []string{"query", "cql2"}, Doc: "how max_cloud is sent: the query extension ({\"query\": {\"eo:cloud_cover\": {\"lt\": N}}}) or a CQL2-JSON filter"},
	{Name: "limit", Type: op.Int, Default: 100, Min: op.Bound(1), Max: op.Bound(10000), Doc: "items per page asked of the server"},
	{Name: "assets", Type: op.Map, Doc: "STAC asset key per band (default: the band name, then earth-search's names: B02 blue, B03 green, B04 red, B08 nir, B11 swir16, B12 swir22, SCL scl, ...)"},
	{Name: "headers", Type: op.Map, Doc: "extra HTTP headers for the search requests (e.g. Authorization)"},
	{Name: "asset_headers", Type: op.Map, Doc: "extra HTTP headers for reading http(s) assets (kept apart from headers, so that a search token is not sent to asset hosts)"},
	{Name: "timeout", Type: op.Duration, Default: 60 * time.Second, Doc: "time limit of one search request"},
}

var stacSearchSpec = &op.Spec{
	Name: "stac.search",
	Kind: op.Source,
	Doc: "Searches a STAC API for items (POST URL/search, following next links) and reads each item's band assets as a scene, " +
		"aligned as cog.read does; the scene id is the item id.",
	Fields: append(append(append([]op.Field{}, stacFields...),
		op.Field{Name: "max_items", Type: op.Int, Default: 100, Min: op.Bound(1), Doc: "stop after this many items"}),
		readFields...),
	Flow: func(cfg *op.Config, _ []op.Schema) (op.Schema, error) {
		s, err := newSTAC(cfg, op.Env{})
		if err != nil {
			return op.Schema{}, err
		}
		return s.schema(defaultDTypes(s.bands)), nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) { return newSTAC(cfg, env) },
}

var stacPollSpec = &op.Spec{
	Name: "stac.poll",
	Kind: op.Source,
	Doc:  "Repeats a STAC API search every interval and reads each item not seen before as a scene (oldest first); runs until the run is stopped.",
	Fields: append(append(append([]op.Field{}, stacFields...),
		op.Field{Name: "max_items", Type: op.Int, Default: 100, Min: op.Bound(1), Doc: "read at most this many new items per round (the rest wait for the next)"},
		op.Field{Name: "interval", Type: op.Duration, Default: 5 * time.Minute, Doc: "time between searches"},
		op.Field{Name: "lookback", Type: op.Duration, Default: 72 * time.Hour, Doc: "after the first round, search only items acquired at most this long before the latest one read (items published later than that are missed); 0: always search the whole datetime range"},
		stateField),
		readFields...),
	Flow: func(cfg *op.Config, _ []op.Schema) (op.Schema, error) {
		s, err := newSTACPoll(cfg, op.Env{})
		if err != nil {
			return op.Schema{}, err
		}
		return s.schema(defaultDTypes(s.bands)), nil
	},
	New: func(cfg *op.Config, env op.Env) (any, error) { return newSTACPoll(cfg, env) },
}

// s2Assets are the asset keys of Sentinel-2 bands in Element84's
// earth-search (sentinel-2-l2a, v1); the older collections use the band
// names themselves, which are tried first.
var s2Assets = map[string]string{
	"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B06": "rededge2", "B07": "rededge3",
	"B08": "nir", "B8A": "nir08", "B09": "nir09", "B11": "swir16", "B12": "swir22", "SCL": "scl", "AOT": "aot", "WVP": "wvp",
}

// assetKeys lists the keys to try for a band: the configured one only, or
// the band name and its earth-search name.
func assetKeys(band string, configured map[string]string) []string {
	if k := configured[band]; k != "" {
		return []string{k}
	}
	keys := []string{band}
	if k, ok := s2Assets[band]; ok {
		keys = append(keys, k)
	}
	if l := strings.ToLower(band); l != band {
		keys = append(keys, l)
	}
	return keys
}

// pickHrefs finds each band's href among a scene's assets.
func pickHrefs(id string, bands []string, assets map[string]string, configured map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, b := range bands {
		keys := assetKeys(b, configured)
		for _, k := range keys {
			if h := assets[k]; h != "" {
				out[b] = h
				break
			}
		}
		if out[b] == "" {
			have := make([]string, 0, len(assets))
			for k := range assets {
				have = append(have, k)
			}
			sort.Strings(have)
			return nil, fmt.Errorf("scene %s, band %s: no asset %s (the item has %s); map it with the assets setting",
				id, b, strings.Join(keys, " or "), strings.Join(have, ","))
		}
	}
	return out, nil
}

// stacSearch is the stac.search source, and the search that stac.poll
// repeats.
type stacSearch struct {
	sceneReader
	endpoint  string
	body      map[string]any // the first request's body, without datetime
	datetime  string
	maxCloud  float64
	hasCloud  bool
	assets    map[string]string
	header    http.Header
	timeout   time.Duration
	maxItems  int
	client    *http.Client
	retryBase time.Duration // first wait before retrying a search
	log       func(string, ...any)
	bandNames []string
}

func newSTAC(cfg *op.Config, env op.Env) (*stacSearch, error) {
	rd, err := newSceneReader(cfg)
	if err != nil {
		return nil, err
	}
	rd.failed = env.SceneFailed
	s := &stacSearch{sceneReader: rd, assets: cfg.Map("assets"), timeout: cfg.Duration("timeout"), maxItems: cfg.Int("max_items"),
		log: env.Log, bandNames: cfg.Strings("bands"), header: http.Header{}, retryBase: 500 * time.Millisecond}
	if s.log == nil {
		s.log = func(string, ...any) {}
	}
	if err := checkBandKeys(cfg, "assets"); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, op.Errorf("url", "want an http(s) URL of a STAC API, got %q", cfg.String("url"))
	}
	s.endpoint = strings.TrimRight(u.String(), "/") + "/search"
	if s.timeout <= 0 {
		return nil, op.Errorf("timeout", "must be positive")
	}
	for k, v := range cfg.Map("headers") {
		s.header.Set(k, v)
	}
	s.body = map[string]any{"limit": cfg.Int("limit")}
	if c := cfg.Strings("collections"); len(c) > 0 {
		s.body["collections"] = c
	}
	if b := cfg.String("bbox"); b != "" {
		box, err := parseBBox(b)
		if err != nil {
			return nil, op.Errorf("bbox", "%v", err)
		}
		s.body["bbox"] = box
	}
	if s.datetime, err = normDatetime(cfg.String("datetime")); err != nil {
		return nil, op.Errorf("datetime", "%v", err)
	}
	if cfg.IsSet("max_cloud") {
		s.hasCloud, s.maxCloud = true, cfg.Float("max_cloud")
		if cfg.String("cloud_filter") == "cql2" {
			s.body["filter-lang"] = "cql2-json"
			s.body["filter"] = map[string]any{"op": "<", "args": []any{map[string]any{"property": "eo:cloud_cover"}, s.maxCloud}}
		} else {
			s.body["query"] = map[string]any{"eo:cloud_cover": map[string]any{"lt": s.maxCloud}}
		}
	}
	// One client per source: its connections are shared by the search and
	// the asset reads; each search request has its own time limit and
	// asset reads have blob's.
	s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	s.blob.Client = s.client
	if h := cfg.Map("asset_headers"); len(h) > 0 {
		s.blob.Header = http.Header{}
		for k, v := range h {
			s.blob.Header.Set(k, v)
		}
	}
	return s, nil
}

// parseBBox parses "minx,miny,maxx,maxy" in degrees.
func parseBBox(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, fmt.Errorf("want \"minlon,minlat,maxlon,maxlat\", got %q", s)
	}
	box := make([]float64, 4)
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q in %q", p, s)
		}
		box[i] = v
	}
	if box[0] < -180 || box[2] > 180 || box[0] > 180 || box[2] < -180 {
		return nil, fmt.Errorf("longitudes of %q must lie in [-180, 180]", s)
	}
	if box[1] < -90 || box[3] > 90 || box[1] > box[3] {
		return nil, fmt.Errorf("latitudes of %q must lie in [-90, 90] with min <= max", s)
	}
	return box, nil
}

// endOfDay is the last millisecond of a day, as an offset from its start.
const endOfDay = 24*time.Hour - time.Millisecond

// normDatetime checks a STAC datetime (instant or interval) and expands
// plain dates to whole UTC days.
func normDatetime(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	parts := strings.Split(s, "/")
	if len(parts) > 2 {
		return "", fmt.Errorf("want an instant or start/end, got %q", s)
	}
	for i, p := range parts {
		if (p == ".." || p == "") && len(parts) == 2 {
			parts[i] = ".."
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, p); err == nil {
			continue
		}
		d, err := time.Parse(time.DateOnly, p)
		if err != nil {
			return "", fmt.Errorf("%q is neither an RFC 3339 time nor a date (2006-01-02)", p)
		}
		switch {
		case len(parts) == 1:
			return d.Format(time.RFC3339) + "/" + d.Add(endOfDay).Format(time.RFC3339Nano), nil
		case i == 0:
			parts[i] = d.Format(time.RFC3339)
		default:
			parts[i] = d.Add(endOfDay).Format(time.RFC3339Nano)
		}
	}
	if len(parts) == 2 && parts[0] == ".." && parts[1] == ".." {
		return "", fmt.Errorf("an interval needs a start or an end, got %q", s)
	}
	return strings.Join(parts, "/"), nil
}

// inInterval reports whether t lies in a normalized STAC datetime
// (instant or interval; "" is everything).
func inInterval(t time.Time, dt string) bool {
	if dt == "" {
		return true
	}
	start, end, ok := strings.Cut(dt, "/")
	if !ok {
		end = start
	}
	if a, err := time.Parse(time.RFC3339Nano, start); err == nil && t.Before(a) {
		return false
	}
	if b, err := time.Parse(time.RFC3339Nano, end); err == nil && t.After(b) {
		return false
	}
	return true
}

// stacItem is the part of a STAC item a source uses.
type stacItem struct {
	ID         string `json:"id"`
	Collection string `json:"collection"`
	Properties struct {
		Datetime      *string  `json:"datetime"`
		StartDatetime *string  `json:"start_datetime"`
		CloudCover    *float64 `json:"eo:cloud_cover"`
	} `json:"properties"`
	Assets map[string]struct {
		Href string `json:"href"`
	} `json:"assets"`
	Links []stacLink `json:"links"`
}

type stacLink struct {
	Rel     string            `json:"rel"`
	Href    string            `json:"href"`
	Method  string            `json:"method"`
	Body    map[string]any    `json:"body"`
	Merge   bool              `json:"merge"`
	Headers map[string]string `json:"headers"`
}

type stacPage struct {
	Type     string     `json:"type"`
	Features []stacItem `json:"features"`
	Links    []stacLink `json:"links"`
}

// when is an item's acquisition time (zero when it has none).
func (it *stacItem) when() time.Time {
	for _, p := range []*string{it.Properties.Datetime, it.Properties.StartDatetime} {
		if p != nil {
			if t, err := time.Parse(time.RFC3339Nano, *p); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// ref turns an item into a scene; relative hrefs are resolved against the
// item's self link, else the page's URL.
func (s *stacSearch) ref(it *stacItem, page *url.URL) (sceneRef, error) {
	base := page
	for _, l := range it.Links {
		if l.Rel == "self" {
			if u, err := page.Parse(l.Href); err == nil {
				base = u
			}
		}
	}
	assets := map[string]string{}
	for k, a := range it.Assets {
		u, err := base.Parse(a.Href)
		if err != nil {
			return sceneRef{}, fmt.Errorf("scene %s: asset %s: bad href %q", it.ID, k, a.Href)
		}
		assets[k] = u.String()
	}
	hrefs, err := pickHrefs(it.ID, s.bandNames, assets, s.assets)
	if err != nil {
		return sceneRef{}, err
	}
	attrs := map[string]string{"source": base.String(), "stac.item": it.ID}
	if it.Collection != "" {
		attrs["stac.collection"] = it.Collection
	}
	if t := it.when(); !t.IsZero() {
		attrs["datetime"] = t.UTC().Format(time.RFC3339Nano)
	}
	if c := it.Properties.CloudCover; c != nil {
		attrs["eo:cloud_cover"] = strconv.FormatFloat(*c, 'g', -1, 64)
	}
	return sceneRef{ID: it.ID, Hrefs: hrefs, Attrs: attrs}, nil
}

// found is one item of a search, ready to read.
type found struct {
	ref  sceneRef
	when time.Time
}

// maxPageBytes bounds one search response.
const maxPageBytes = 64 << 20

// maxPages bounds the pages one search follows, against a server whose
// next links never end.
const maxPages = 10000

// search runs the item search over datetime and returns the items that
// keep passes, up to limit items (0: no limit), following next links.
func (s *stacSearch) search(ctx context.Context, datetime string, limit int, keep func(*stacItem) bool) ([]found, error) {
	body := make(map[string]any, len(s.body)+1)
	for k, v := range s.body {
		body[k] = v
	}
	if datetime != "" {
		body["datetime"] = datetime
	}
	link := stacLink{Href: s.endpoint, Method: http.MethodPost, Body: body}
	var out []found
	seenIDs := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, fmt.Errorf("stac: %s: more than %d pages", s.endpoint, maxPages)
		}
		page, pageURL, err := s.fetch(ctx, link)
		if err != nil {
			return nil, err
		}
		if page.Type != "" && page.Type != "FeatureCollection" {
			return nil, fmt.Errorf("stac: %s answered a %q, not a FeatureCollection", pageURL, page.Type)
		}
		for i := range page.Features {
			it := &page.Features[i]
			if it.ID == "" {
				return nil, fmt.Errorf("stac: %s: an item has no id", pageURL)
			}
			if seenIDs[it.ID] {
				continue
			}
			seenIDs[it.ID] = true
			// Servers may ignore a filter; check what the item tells.
			if s.hasCloud && it.Properties.CloudCover != nil && *it.Properties.CloudCover >= s.maxCloud {
				continue
			}
			if t := it.when(); !t.IsZero() && !inInterval(t, datetime) {
				continue
			}
			if !keep(it) {
				continue
			}
			ref, err := s.ref(it, pageURL)
			if err != nil {
				return nil, fmt.Errorf("stac: %w", err)
			}
			out = append(out, found{ref: ref, when: it.when()})
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		next, ok := nextLink(page.Links, link)
		if !ok || len(page.Features) == 0 {
			return out, nil
		}
		link = next
	}
}

// nextLink is the request for the page after the one prev asked for.
func nextLink(links []stacLink, prev stacLink) (stacLink, bool) {
	for _, l := range links {
		if l.Rel != "next" || l.Href == "" {
			continue
		}
		if l.Method == "" {
			l.Method = http.MethodGet
		}
		l.Method = strings.ToUpper(l.Method)
		if l.Method == http.MethodPost && (l.Merge || l.Body == nil) {
			merged := map[string]any{}
			for k, v := range prev.Body {
				merged[k] = v
			}
			for k, v := range l.Body {
				merged[k] = v
			}
			l.Body = merged
		}
		if prevURL, err := url.Parse(prev.Href); err == nil {
			if u, err := prevURL.Parse(l.Href); err == nil {
				l.Href = u.String()
			}
		}
		return l, true
	}
	return stacLink{}, false
}

// searchAttempts is how often a search request is tried when it fails in
// a way worth retrying (429, 5xx, network).
const searchAttempts = 4

// fetch requests one page, retrying transient failures.
func (s *stacSearch) fetch(ctx context.Context, l stacLink) (*stacPage, *url.URL, error) {
	u, err := url.Parse(l.Href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("stac: bad page link %q", l.Href)
	}
	var payload []byte
	if l.Method == http.MethodPost {
		if payload, err = json.Marshal(l.Body); err != nil {
			return nil, nil, fmt.Errorf("stac: %w", err)
		}
	} else if l.Method != http.MethodGet {
		return nil, nil, fmt.Errorf("stac: page link %s has method %q", l.Href, l.Method)
	}
	for attempt := 1; ; attempt++ {
		page, retry, err := s.fetchOnce(ctx, l, u, payload)
		if err == nil {
			return page, u, nil
		}
		if !retry || attempt == searchAttempts || ctx.Err() != nil {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, nil, err
		}
		if !sleepCtx(ctx, time.Duration(attempt)*s.retryBase) {
			return nil, nil, ctx.Err()
		}
	}
}

func (s *stacSearch) fetchOnce(ctx context.Context, l stacLink, u *url.URL, payload []byte) (page *stacPage, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, l.Method, u.String(), body)
	if err != nil {
		return nil, false, fmt.Errorf("stac: %w", err)
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	for k, v := range l.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Accept", "application/geo+json, application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ne net.Error
		return nil, errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded),
			fmt.Errorf("stac: %s %s: %w", l.Method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		return nil, true, fmt.Errorf("stac: %s %s: reading the answer: %w", l.Method, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := string(data[:min(len(data), 300)])
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusInternalServerError:
			retry = true
		}
		return nil, retry, fmt.Errorf("stac: %s %s: %s: %s", l.Method, u, resp.Status, strings.TrimSpace(msg))
	}
	if len(data) > maxPageBytes {
		return nil, false, fmt.Errorf("stac: %s %s: answer larger than %d bytes", l.Method, u, maxPageBytes)
	}
	page = &stacPage{}
	if err := json.Unmarshal(data, page); err != nil {
		return nil, false, fmt.Errorf("stac: %s %s: %w", l.Method, u, err)
	}
	return page, false, nil
}

// Run searches once and reads every item found.
func (s *stacSearch) Run(ctx context.Context, emit op.Emit) error {
	items, err := s.search(ctx, s.datetime, s.maxItems, func(*stacItem) bool { return true })
	if err != nil {
		return err
	}
	s.log("stac.search: %d items", len(items))
	for _, it := range items {
		if err := s.readRef(ctx, it.ref, emit); err != nil {
			return err
		}
	}
	return nil
}

// Close releases idle connections.
func (s *stacSearch) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// stacPoll is the stac.poll source.
type stacPoll struct {
	*stacSearch
	interval  time.Duration
	lookback  time.Duration
	seen      *seenSet
	statePath string
}

func newSTACPoll(cfg *op.Config, env op.Env) (*stacPoll, error) {
	s, err := newSTAC(cfg, env)
	if err != nil {
		return nil, err
	}
	p := &stacPoll{stacSearch: s, interval: cfg.Duration("interval"), lookback: cfg.Duration("lookback"), statePath: cfg.String("state")}
	if p.interval <= 0 {
		return nil, op.Errorf("interval", "must be positive")
	}
	if p.lookback < 0 {
		return nil, op.Errorf("lookback", "must not be negative")
	}
	return p, nil
}

// window is the datetime searched in a round: the configured range, its
// start moved up to lookback before the latest item read.
func (p *stacPoll) window(latest time.Time) string {
	if p.lookback == 0 || latest.IsZero() {
		return p.datetime
	}
	from := latest.Add(-p.lookback)
	start, end := "..", ".."
	if p.datetime != "" {
		parts := strings.Split(p.datetime, "/")
		start = parts[0]
		if len(parts) == 2 {
			end = parts[1]
		} else {
			end = parts[0]
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, start); err == nil && t.After(from) {
		return p.datetime
	}
	return from.UTC().Format(time.RFC3339Nano) + "/" + end
}

// Run polls until ctx ends. A failed search fails the run in the first
// round (a wrong url or filter) and is logged and retried at the next
// interval afterwards (the API was briefly unreachable); a scene that
// cannot be read fails the run.
func (p *stacPoll) Run(ctx context.Context, emit op.Emit) error {
	if p.seen == nil {
		seen, err := loadSeen(p.statePath)
		if err != nil {
			return fmt.Errorf("stac.poll: %w", err)
		}
		p.seen = seen
	}
	// backlog is the time of the oldest new item left for a later round:
	// the window must not move past it.
	var backlog time.Time
	for round := 0; ; round++ {
		latest := p.seen.latest()
		if !backlog.IsZero() && (latest.IsZero() || backlog.Before(latest)) {
			latest = backlog
		}
		if p.lookback > 0 && !latest.IsZero() {
			// Items before the window cannot be found again.
			p.seen.prune(latest.Add(-p.lookback))
		}
		items, err := p.search(ctx, p.window(latest), 0, func(it *stacItem) bool { return !p.seen.has(it.ID) })
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && round == 0:
			return err
		case err != nil:
			p.log("stac.poll: %v (retrying in %v)", err, p.interval)
			items = nil
		}
		// Oldest first, so that a backlog is worked off in order.
		sort.SliceStable(items, func(i, j int) bool { return items[i].when.Before(items[j].when) })
		backlog = time.Time{}
		if len(items) > p.maxItems {
			backlog = items[p.maxItems].when
			p.log("stac.poll: %d new items, reading %d this round", len(items), p.maxItems)
			items = items[:p.maxItems]
		}
		for _, it := range items {
			if err := p.readRef(ctx, it.ref, emit); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if err := p.seen.add(it.ref.ID, it.when); err != nil {
				return fmt.Errorf("stac.poll: %w", err)
			}
		}
		if !sleepCtx(ctx, p.interval) {
			return nil
		}
	}
}
