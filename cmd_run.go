package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"hotline/daemon"
	"hotline/daemon/sdnotify"
	"hotline/daemon/update"
	"hotline/web"
)

// modemFlags collects repeated --modem flags.
type modemFlags []daemon.ModemSpec

func (m *modemFlags) String() string { return fmt.Sprint(len(*m), " modems") }
func (m *modemFlags) Set(s string) error {
	spec, err := daemon.ParseModemSpec(s)
	if err != nil {
		return err
	}
	*m = append(*m, spec)
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./var", "data folder: database, voicemail, recordings, prompts")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the web admin")
	httpsAddr := fs.String("https", "", `address of the web admin over HTTPS, with the box's own certificate (e.g. ":443"); "" for none`)
	var sims simFlag
	fs.Var(&sims, "sim", "simulated lines: a number (of --sim-kind), or one kind per line: quectel,simcom,huawei,fxo")
	simKind := fs.String("sim-kind", "quectel", "what the simulated lines are: quectel (EC25), simcom (SIM7600), huawei (E1550) or fxo (analog voice modem)")
	debug := fs.Bool("debug", false, "log every AT line and more")
	sipAddr := fs.String("sip", ":5060", `where operators' SIP phones register (UDP and TCP); "off" for none`)
	mdnsName := fs.String("mdns", "", `answer to NAME.local on the network (e.g. "hotline"), where nothing else does`)
	sipIP := fs.String("sip-ip", "", "the box's address that phones reach (default: the address of its network interface)")
	var modems modemFlags
	fs.Var(&modems, "modem", "a modem's ports: PATH,audio=PATH[,kind=quectel|simcom|huawei], or PATH,kind=fxo (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if len(sims.kinds) > 8 || sims.n < 0 || sims.n > 8 {
		return usageError{"--sim takes 0 to 8 lines"}
	}
	if sims.n > 0 {
		for range sims.n {
			sims.kinds = append(sims.kinds, *simKind)
		}
	}
	nsims := len(sims.kinds)
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// An installed update runs in place of this process (see docs/UPDATE.md); back here, this
	// binary runs.
	if err := update.Launch(*data, version, append([]string{"run"}, args...)); err != nil {
		log.Warn("update not started; running the built-in program", "err", err, "version", version)
	}
	if slot := update.RunningSlot(); slot != "" {
		log.Info("running an installed update", "slot", slot, "version", version)
	}
	if err := restoreAfterRollback(ctx, *data, log); err != nil {
		log.Error("putting back the backup made before the update", "err", err)
	}

	if nsims == 0 && len(modems) == 0 {
		found, err := discoverModems(log)
		if err != nil {
			log.Warn("looking for modems", "err", err)
		}
		modems = found
		if len(modems) == 0 {
			log.Warn("no modem found; the admin runs, but no line answers. Plug a modem in and restart, or try --sim 2")
		}
	}

	if *sipAddr == "off" {
		*sipAddr = ""
	}
	h, err := daemon.Open(ctx, daemon.Config{DataDir: *data, SimKinds: sims.kinds, Modems: modems, Logger: log,
		SimToneReports: true, SIPAddr: *sipAddr, SIPIP: *sipIP, MDNS: *mdnsName})
	if err != nil {
		return err
	}
	defer h.Close()

	restart := make(chan struct{}, 1)
	opts := web.Options{Store: h.Store, Logger: log.With("subsys", "web")}
	opts.SMS = h
	opts.Lines, opts.Version = h, version
	opts.Calls, opts.Disk = h.Board, h
	opts.Callbacks, opts.SIP = h, h
	opts.TestLine = h.Browser
	opts.Control = h
	opts.Clock = h
	opts.Restart = func() {
		select {
		case restart <- struct{}{}:
		default:
		}
	}
	if nsims > 0 {
		opts.Sim = h
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("web admin: %w", err)
	}
	var secureLn net.Listener
	if *httpsAddr != "" {
		// Without HTTPS the box still answers: the admin is then plain HTTP only.
		secureLn, opts.HTTPS, err = listenHTTPS(*httpsAddr, *data, *mdnsName, log)
		if err != nil {
			log.Error("the web admin is not served over HTTPS", "err", err)
		}
	}
	srv, err := web.New(opts)
	if err != nil {
		return err
	}
	// The calls' audio comes first: the admin is paced (web.Throttle).
	handler := web.Throttle(srv.Handler(), web.ThrottleRate, web.ThrottleBurst)
	hs := web.HTTPServer(handler, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	url := adminURL(ln.Addr())
	fmt.Fprintf(stdout, "hotline %s is running with %d line(s): %s\n", version, len(h.Lines()), strings.Join(h.Lines(), ", "))
	fmt.Fprintf(stdout, "Web admin: %s\n", url)
	var hss *http.Server
	if secureLn != nil {
		hss = web.HTTPServer(handler, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
		fmt.Fprintf(stdout, "Secure web admin: %s (certificate SHA-256 %s)\n", "https"+strings.TrimPrefix(adminURL(secureLn.Addr()), "http"), opts.HTTPS.Fingerprint)
	}
	if a := h.SIPAddr(); a != "" {
		fmt.Fprintf(stdout, "SIP phones register at: %s\n", a)
	}
	code, err := h.Store.SetupCode(ctx)
	if err != nil {
		return err
	}
	if code != "" {
		fmt.Fprintf(stdout, "First visit: claim the box with the setup code %s (kept in %s until used),\n", code, filepath.Join(*data, "setup-code.txt"))
		fmt.Fprintf(stdout, "or set the owner password here: ./bin/hotline passwd --data %s\n", *data)
	}
	if nsims > 0 {
		fmt.Fprintf(stdout, "Test call: ./bin/hotline call --addr %s --from +79161234567 --digits 0\n", url)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() {
		if err := h.Run(runCtx); err != nil {
			errc <- err
		}
	})
	wg.Go(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("web admin: %w", err)
		}
	})
	if hss != nil {
		wg.Go(func() {
			if err := hss.Serve(secureLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("web admin over HTTPS: %w", err)
			}
		})
	}
	// systemd: ready now, and a heartbeat while the web admin answers.
	if _, err := sdnotify.Notify(fmt.Sprintf("READY=1\nSTATUS=answering on %d line(s)", len(h.Lines()))); err != nil {
		log.Warn("cannot tell systemd we are ready", "err", err)
	}
	wg.Go(func() {
		if err := sdnotify.Watchdog(runCtx, func() bool { return healthy(runCtx, url) }); err != nil {
			log.Warn("watchdog", "err", err)
		}
	})
	// An update on trial is kept once its admin has answered for a while.
	if update.OnTrial(*data) {
		log.Info("this update is on trial", "version", version, "for", update.TrialPeriod)
		wg.Go(func() {
			err := update.WatchTrial(runCtx, *data, update.TrialPeriod, update.TrialGiveUp, func() bool { return healthy(runCtx, url) })
			switch {
			case err == nil:
				log.Info("update kept", "version", version)
			case errors.Is(err, update.ErrNotHealthy):
				// End: the supervisor starts the box again and the launcher goes back.
				select {
				case errc <- err:
				default:
				}
			case runCtx.Err() == nil:
				log.Warn("update trial", "err", err)
			}
		})
	}
	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case runErr = <-errc:
	case <-restart:
		// The supervisor (systemd, gokrazy) starts the box again, which applies the backup.
		log.Warn("stopping to restore the backup the owner uploaded; the box starts again by itself")
	}
	_, _ = sdnotify.Notify("STOPPING=1")
	shut, cancelShut := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelShut()
	srv.Close() // event streams and callbacks placed from the admin end
	_ = hs.Shutdown(shut)
	if hss != nil {
		_ = hss.Shutdown(shut)
	}
	cancel()
	wg.Wait()
	srv.WaitCallbacks()
	return runErr
}

// listenHTTPS listens on addr with the box's certificate from the data folder dataDir (made
// there at the first start, for the box's host name, NAME.local and its addresses).
func listenHTTPS(addr, dataDir, mdnsName string, log *slog.Logger) (net.Listener, web.HTTPS, error) {
	names := []string{"localhost"}
	if host, err := os.Hostname(); err == nil && host != "" {
		names = append(names, host, host+".local")
	}
	if mdnsName != "" {
		names = append(names, mdnsName+".local")
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var ips []net.IP
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				ips = append(ips, n.IP)
			}
		}
	}
	cert, err := web.LoadOrMakeCertificate(dataDir, names, ips)
	if err != nil {
		return nil, web.HTTPS{}, err
	}
	if cert.Made {
		log.Info("made the web admin's certificate", "names", names, "addresses", ips, "sha256", cert.Fingerprint)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, web.HTTPS{}, fmt.Errorf("listen: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12}
	return tls.NewListener(ln, cfg), web.HTTPS{Port: ln.Addr().(*net.TCPAddr).Port, Fingerprint: cert.Fingerprint}, nil
}

func adminURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// healthy asks the web admin's health page, as a browser would: a daemon that no longer answers
// stops the watchdog's heartbeat and systemd restarts it.
func healthy(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// simFlag is --sim: a number of lines, or a comma-separated kind per line.
type simFlag struct {
	n     int
	kinds []string
}

func (s *simFlag) String() string {
	if len(s.kinds) > 0 {
		return strings.Join(s.kinds, ",")
	}
	return strconv.Itoa(s.n)
}

func (s *simFlag) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		s.n, s.kinds = n, nil
		return nil
	}
	s.n, s.kinds = 0, nil
	for _, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		switch k {
		case "quectel", "simcom", "huawei", "fxo":
			s.kinds = append(s.kinds, k)
		default:
			return fmt.Errorf("unknown kind %q (quectel, simcom, huawei, fxo)", k)
		}
	}
	return nil
}
