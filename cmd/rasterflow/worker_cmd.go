package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rasterflow/rasterflow/engine"
	"github.com/rasterflow/rasterflow/graph"
	"github.com/rasterflow/rasterflow/metrics"
	"github.com/rasterflow/rasterflow/monitor"
	"github.com/rasterflow/rasterflow/transport"
)

// natsFlags are the transport flags of `run` and `worker`.
type natsFlags struct {
	url        string
	durable    bool
	run        string
	store      string
	replicas   int
	maxDeliver int
	ackWait    time.Duration
	conn       transport.ConnOptions
}

func addNATSFlags(fs *flag.FlagSet) *natsFlags {
	f := &natsFlags{}
	fs.StringVar(&f.url, "nats", "", "use this external NATS server or cluster (comma-separated URLs) with JetStream; implies --durable")
	fs.BoolVar(&f.durable, "durable", false, "durable run on JetStream (embedded server unless --nats): survives crashes, resumes on restart")
	fs.StringVar(&f.run, "run", "", "durable run id (default: a hash of the pipeline file and --set values, so a restart resumes)")
	fs.StringVar(&f.store, "store", "", "JetStream store of the embedded server with --durable (default: the user cache directory)")
	fs.IntVar(&f.replicas, "js-replicas", 1, "replicas of the run's streams and bucket (3 on a cluster)")
	fs.IntVar(&f.maxDeliver, "max-deliver", 5, "deliveries of a chunk or scene before it goes to the dead-letter subject rf.<pipeline>.dlq")
	fs.DurationVar(&f.ackWait, "ack-wait", 30*time.Second, "how long work stays with a silent worker before another takes it")
	fs.StringVar(&f.conn.User, "user", "", "NATS user")
	fs.StringVar(&f.conn.Password, "password", "", "NATS password (or $RASTERFLOW_NATS_PASSWORD)")
	fs.StringVar(&f.conn.Token, "token", "", "NATS token (or $RASTERFLOW_NATS_TOKEN)")
	fs.StringVar(&f.conn.NKeyFile, "nkey", "", "NKey seed file")
	fs.StringVar(&f.conn.CredsFile, "creds", "", "NATS credentials file (JWT)")
	fs.StringVar(&f.conn.TLSCA, "tls-ca", "", "CA bundle to verify the server")
	fs.StringVar(&f.conn.TLSCert, "tls-cert", "", "client certificate")
	fs.StringVar(&f.conn.TLSKey, "tls-key", "", "client key")
	return f
}

// session is a loaded pipeline with its connection.
type session struct {
	p       *graph.Pipeline
	nc      *nats.Conn
	runID   string
	durable *engine.DurableOptions
	closers []func()
}

func (s *session) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// open connects (external server, or an embedded one listening on listen)
// and loads the pipeline, validated against the server's message size.
func (f *natsFlags) open(file string, sets setFlag, listen, name string, stderr io.Writer) (*session, error) {
	if f.conn.Password == "" {
		f.conn.Password = os.Getenv("RASTERFLOW_NATS_PASSWORD")
	}
	if f.conn.Token == "" {
		f.conn.Token = os.Getenv("RASTERFLOW_NATS_TOKEN")
	}
	s := &session{}
	maxPayload := transport.MaxEmbeddedPayload
	if f.url != "" {
		f.conn.Name = name
		nc, err := transport.Connect(f.url, f.conn)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, nc.Close)
		s.nc, maxPayload, f.durable = nc, int(nc.MaxPayload()), true
	} else {
		eo := transport.EmbeddedOptions{Listen: listen}
		if f.durable {
			eo.JetStream, eo.StoreDir = true, f.store
			if eo.StoreDir == "" {
				dir, err := os.UserCacheDir()
				if err != nil {
					dir = os.TempDir()
				}
				eo.StoreDir = filepath.Join(dir, "rasterflow", "jetstream")
			}
		}
		srv, err := transport.StartEmbedded(eo)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, srv.Shutdown)
		nc, err := srv.Connect(name)
		if err != nil {
			s.close()
			return nil, err
		}
		s.closers = append(s.closers, nc.Close)
		s.nc = nc
	}
	p, err := loadPipeline(file, sets, maxPayload, stderr)
	if err != nil {
		s.close()
		return nil, err
	}
	s.p = p
	if f.durable {
		s.runID = f.run
		if s.runID == "" {
			if s.runID, err = runHash(file, sets); err != nil {
				s.close()
				return nil, err
			}
		}
		s.durable = &engine.DurableOptions{Replicas: f.replicas, MaxDeliver: f.maxDeliver, AckWait: f.ackWait}
	}
	return s, nil
}

// runHash names a durable run after the pipeline file and its settings, so
// the same command resumes the same run.
func runHash(file string, sets setFlag) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(data)
	keys := make([]string, 0, len(sets))
	for k := range sets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, sets[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// cmdWorker serves some stages of a durable run on an external server.
func cmdWorker(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	sets := setFlag{}
	fs.Var(sets, "set", "set a variable VAR=VALUE or a stage setting STAGE.SETTING=VALUE (repeatable; as given to `run`)")
	stages := fs.String("stages", "", "comma-separated stages to serve (default: all processing stages, no sources)")
	nf := addNATSFlags(fs)
	file, err := parsePipelineArgs(fs, args)
	if err != nil {
		return err
	}
	if nf.url == "" {
		return fmt.Errorf("a worker needs --nats URL")
	}
	host, _ := os.Hostname()
	worker := fmt.Sprintf("%s-%d", host, os.Getpid())
	s, err := nf.open(file, sets, "", "rasterflow-worker-"+worker, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	s.durable.Stages = splitList(*stages)
	if len(s.durable.Stages) == 0 {
		for _, st := range s.p.Stages {
			if len(st.In) > 0 {
				s.durable.Stages = append(s.durable.Stages, st.ID)
			}
		}
	}
	hardCtx, drainCtx, stop := signalContexts(stderr)
	defer stop()
	reg := &metrics.Registry{}
	start := time.Now()
	// Publish this worker's counters so `rasterflow top` and dashboards
	// see the whole cluster.
	monCtx, monStop := context.WithCancel(context.Background())
	pubDone := make(chan error, 1)
	go func() {
		pubDone <- monitor.Publish(monCtx, s.nc, monitor.Subject(s.p.Name), worker, reg, s.p, time.Second)
	}()
	fmt.Fprintf(stderr, "worker %s: pipeline %s run %s, stages %s\n", worker, s.p.Name, s.runID, strings.Join(s.durable.Stages, ","))
	err = engine.Run(hardCtx, drainCtx, s.p, engine.Options{Conn: s.nc, RunID: s.runID, Durable: s.durable, Metrics: reg, Worker: worker,
		GPUs: gpus(), Log: func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }})
	monStop()
	<-pubDone
	wall := time.Since(start)
	fmt.Fprintf(stdout, "worker %s: %s in %s\n", worker, status(err, drainCtx), wall.Round(time.Millisecond))
	snap := reg.Snapshot(time.Now())
	metrics.WriteSummary(stdout, snap, wall)
	var redelivered int64
	for _, st := range snap {
		redelivered += st.Redeliveries
	}
	fmt.Fprintf(stdout, "redeliveries: %d\n", redelivered)
	return err
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// signalContexts: the first SIGINT/SIGTERM cancels drain (stop taking new
// work, finish or hand back what is in flight), the second cancels hard.
func signalContexts(stderr io.Writer) (hard, drain context.Context, stop func()) {
	hardCtx, hardStop := context.WithCancel(context.Background())
	drainCtx, drainStop := context.WithCancel(hardCtx)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "\nstopping: finishing in-flight work (interrupt again to abort)")
		drainStop()
		if _, ok := <-sigs; ok {
			hardStop()
		}
	}()
	return hardCtx, drainCtx, func() { signal.Stop(sigs); close(sigs); drainStop(); hardStop() }
}
