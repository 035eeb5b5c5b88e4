package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"hotline/daemon/browserline"
	"hotline/daemon/custom"
	"hotline/daemon/diskguard"
	"hotline/daemon/mdns"
	"hotline/daemon/store"
	"hotline/daemon/switchboard"
	"hotline/hw"
	"hotline/hw/discover"
	"hotline/hw/fxo"
	"hotline/hw/gpio"
	"hotline/hw/gsm"
	"hotline/hw/modem"
	"hotline/hw/sim"
	"hotline/hw/supervise"
	"hotline/voice/prompts"
	"hotline/voice/sip"
	"hotline/voice/wav"
)

// ModemSpec names the ports of one modem given on the command line:
// "PATH[,audio=PATH][,kind=KIND]".
type ModemSpec struct {
	AT    string
	Audio string
	Kind  string
	// Key names a modem found by discovery (its USB serial number or path): after a re-plug
	// its ports are found again by it. "" for ports given by hand.
	Key string
}

// Kinds of modem the daemon can drive.
var modemKinds = []string{"quectel", "simcom", "huawei", "fxo"}

// ParseModemSpec reads "PATH[,audio=PATH][,kind=KIND]".
func ParseModemSpec(s string) (ModemSpec, error) {
	parts := strings.Split(s, ",")
	spec := ModemSpec{AT: strings.TrimSpace(parts[0]), Kind: "quectel"}
	if spec.AT == "" {
		return spec, fmt.Errorf("modem %q: the AT port path is missing", s)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		v = strings.TrimSpace(v)
		switch {
		case !ok || v == "":
			return spec, fmt.Errorf("modem %q: %q is not key=value", s, p)
		case k == "audio":
			spec.Audio = v
		case k == "kind":
			spec.Kind = v
		default:
			return spec, fmt.Errorf("modem %q: unknown option %q (audio=, kind=)", s, k)
		}
	}
	known := false
	for _, k := range modemKinds {
		known = known || k == spec.Kind
	}
	if !known {
		return spec, fmt.Errorf("modem %q: unknown kind %q (known: %s)", s, spec.Kind, strings.Join(modemKinds, ", "))
	}
	switch {
	case spec.Kind == "fxo" && spec.Audio != "":
		return spec, fmt.Errorf("modem %q: an analog voice modem carries its audio on its one port: drop audio=", s)
	case spec.Kind != "fxo" && spec.Audio == "":
		return spec, fmt.Errorf("modem %q: the modem's audio port is missing: audio=PATH", s)
	}
	return spec, nil
}

// Config says what the daemon runs.
type Config struct {
	DataDir string
	Sims    int    // simulated lines
	SimKind string // what the simulated lines are: "quectel" (EC25, default), "simcom" (SIM7600), "huawei", "fxo" (analog)
	// SimKinds gives each simulated line its own kind, in order (then Sims and SimKind are not
	// used).
	SimKinds []string
	Modems   []ModemSpec // real modems
	Logger   *slog.Logger
	// SimToneReports makes simulated modems report digits themselves (+QTONEDET) besides the
	// in-band tones; on by default in `hotline run`.
	SimToneReports bool
	// SimGarbage makes simulated modems print junk lines between their messages, as flaky
	// modems do (for tests).
	SimGarbage bool
	// SIPAddr is where operators' phones register (UDP and TCP), e.g. ":5060"; "" for none.
	SIPAddr string
	// SIPIP is the box's address that phones reach, written in SDP ("" finds it).
	SIPIP string
	// SIP replaces the SIP server (tests); nil uses the one SIPAddr makes.
	SIP SIPPhones
	// DiskFloor is the free space under which nothing is recorded (0: the guard's default, the
	// larger of 64 MB and 2 % of the disk).
	DiskFloor uint64
	// MDNS is the name the box answers to as NAME.local on the network (multicast DNS); "" for
	// none (a system with its own responder, such as avahi, does it already).
	MDNS string
	// Now is the wall clock the schedules read (nil: time.Now); tests set it.
	Now func() time.Time
	// WorkingCopyPlaces are where the box may keep a working copy of its data when DataDir is
	// on a read-only file system, first that works (nil: the service's runtime folder, the
	// temporary folder, /dev/shm).
	WorkingCopyPlaces []string
	// Speed runs the calls Speed times faster than real time (0 or 1: real time), for soak
	// tests on simulated lines: the switchboard's waits (switchboard.Options.Speed) and the
	// simulated modems' rings, frames and callers (sim.Options.Speed). Real lines' drivers
	// (AT timeouts, the 60 ms underrun deadline) stay on the wall clock.
	Speed float64
}

// Hotline is the running box: store, lines, switchboard.
type Hotline struct {
	Store *store.Store
	Board *switchboard.Board

	cfg   Config
	log   *slog.Logger
	lines []lineRunner
	sims  map[string]sim.Modem

	simMu   sync.Mutex
	simBusy map[string]bool

	alerts *alerter
	sip    *sip.Server
	// Browser is the line the owner calls the hotline on from the admin page (a test call).
	Browser *browserline.Line
	// Callees is the simulated network's directory of numbers the box dials (operators'
	// mobiles, callbacks) when it runs simulated lines; nil otherwise.
	Callees *sim.Callees
	watch   *discover.Watcher // finds re-plugged modems; nil when none was discovered
	disk    *diskguard.Guard
	clock   *clockWatch
	pins    []io.Closer // GPIO lines held
	// copyOf is the read-only data folder the box runs a working copy of; "" normally.
	copyOf string
}

// gsmLine is a line driver with its own run loop.
type gsmLine interface {
	hw.Line
	Run(ctx context.Context) error
}

type lineRunner struct {
	line gsmLine
	kind string // quectel, simcom, huawei, fxo
}

// Open opens the store and the lines; Run starts them.
func Open(ctx context.Context, cfg Config) (*Hotline, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	audioProcs(cfg.Logger)
	// A backup the owner restored from the admin replaces the data now, before anything opens
	// it; a failed move must not start the box on half-moved data.
	if applied, err := custom.ApplyPendingRestore(cfg.DataDir); errors.Is(err, syscall.EROFS) {
		cfg.Logger.Error("the backup the owner restored cannot be applied: the data disk is read-only", "err", err)
	} else if err != nil {
		return nil, fmt.Errorf("apply the restored backup: %w", err)
	} else if applied {
		cfg.Logger.Warn("backup restored; the data before it is kept", "previous", filepath.Join(cfg.DataDir, custom.PreviousDir))
	}
	// A recording cut by a power failure gets its WAV header fixed before anything reads it.
	for _, d := range []string{store.VoicemailDir, RecordingDir} {
		dir := filepath.Join(cfg.DataDir, d)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		fixed, err := wav.RepairDir(dir)
		for _, f := range fixed {
			cfg.Logger.Warn("recording cut short by a power failure, repaired", "file", f)
		}
		if err != nil {
			cfg.Logger.Error("cannot repair recordings", "dir", dir, "err", err)
		}
	}
	st, err := store.Open(ctx, cfg.DataDir)
	var copyOf string
	var freshCopy bool
	if errors.Is(err, syscall.EROFS) {
		// The card turned read-only (it does so when it starts failing): answer from a copy.
		places := cfg.WorkingCopyPlaces
		if places == nil {
			places = workingCopyPlaces()
		}
		dir, fresh, cerr := makeWorkingCopy(cfg.DataDir, places)
		if cerr != nil {
			return nil, fmt.Errorf("%w; and the box cannot run from a copy: %v", err, cerr)
		}
		cfg.Logger.Error("the data disk is read-only: answering from a working copy in memory; what happens until the disk is replaced is lost at the next restart",
			"disk", cfg.DataDir, "copy", dir, "made_now", fresh)
		copyOf, freshCopy = cfg.DataDir, fresh
		st, err = store.Open(ctx, dir)
	}
	if err != nil {
		return nil, err
	}
	h := &Hotline{Store: st, cfg: cfg, log: cfg.Logger, sims: map[string]sim.Modem{}, simBusy: map[string]bool{}, copyOf: copyOf}
	h.disk, err = diskguard.New(diskguard.Config{
		Dir:          st.Dir(),
		MinFreeBytes: cfg.DiskFloor,
		Logger:       cfg.Logger.With("subsys", "disk"),
		Reclaim: func(ctx context.Context, need int64) (int64, error) {
			r, err := st.ApplyRetention(ctx, store.Retention{Free: need})
			return r.Bytes, err
		},
		OnChange: func(s diskguard.Status) {
			if h.alerts != nil {
				h.alerts.diskChanged(context.Background(), s)
			}
		},
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("disk guard: %w", err)
	}
	if err := ensureFlow(ctx, st); err != nil {
		st.Close()
		return nil, fmt.Errorf("save the default flow: %w", err)
	}
	if cfg.SIP == nil && cfg.SIPAddr != "" {
		ip := cfg.SIPIP
		if ip == "" {
			if ip, err = localIP(); err != nil {
				cfg.Logger.Warn("cannot tell this box's network address; phones on the LAN may not hear the caller. Set --sip-ip", "err", err)
				ip = "127.0.0.1"
			}
		}
		srv, err := sip.New(sip.Options{Addr: cfg.SIPAddr, IP: ip, Accounts: sipAccounts{st}, Logger: cfg.Logger.With("subsys", "sip"),
			Feature: func(user, code string) string { return featureCode(st, user, code) }})
		if err != nil {
			// The phone line must answer even when the SIP port is taken: callers still reach
			// mobiles and voicemail.
			cfg.Logger.Error("SIP phones cannot register: the SIP port is not available", "addr", cfg.SIPAddr, "err", err)
		} else {
			h.sip = srv
			cfg.SIP = sipPhones{srv}
		}
	}
	h.Browser = browserline.New("browser", cfg.Logger.With("subsys", "testcall"))
	h.clock = newClockWatch(st, cfg.Logger.With("subsys", "clock"))
	h.clock.network, h.clock.set, h.clock.synced, h.clock.fromSaved = h.networkTime, setSystemClock, clockSynced, clockFromSavedTime
	h.clock.init(ctx)
	flows := &flowCache{st: st}
	h.alerts = newAlerter(h)
	if freshCopy {
		h.alerts.queue(ctx, alertBody{Kind: AlertDisk, Disk: diskWorkingCopy,
			Text: diskText(h.alerts.lang(ctx) != "en", diskWorkingCopy, 0), At: time.Now()})
	}
	own := custom.Prompts{Dir: filepath.Join(st.Dir(), custom.PromptDir)}
	h.Board = switchboard.New(switchboard.Options{
		Speed:        cfg.Speed,
		Store:        st,
		Prompts:      own.Or(prompts.Load), // the owner's recording first, else the box's own
		Flow:         flows.current,
		People:       &people{st: st, sip: cfg.SIP, log: cfg.Logger.With("subsys", "people")},
		VoicemailDir: filepath.Join(st.Dir(), store.VoicemailDir),
		RecordingDir: filepath.Join(st.Dir(), RecordingDir),
		CanRecord:    h.disk.CanRecord,
		WriteFailed:  h.disk.Notify,
		ClockUnset:   h.clock.Unsure,
		Logger:       cfg.Logger.With("subsys", "switchboard"),
		SendSMS:      h.sendAnySMS,
		MissedSMS: func(ctx context.Context) string {
			v, _ := st.Setting(ctx, SettingMissedSMS, "")
			return strings.TrimSpace(v)
		},
		Now: cfg.Now,
	})
	if cfg.Sims > 0 || len(cfg.SimKinds) > 0 {
		// The simulated network: every number answers after two rings, takes the call with 1
		// after the box's announcement, says a few words and hangs up after a while (an
		// operator's mobile; tests set their own callees).
		h.Callees = sim.NewCallees()
		h.Callees.SetDefault(sim.Callee{AnswerAfter: 2 * time.Second, Digits: "1", DigitsAfter: 3 * time.Second, HangupAfter: 30 * time.Second})
	}
	if len(cfg.SimKinds) == 0 {
		for range cfg.Sims {
			cfg.SimKinds = append(cfg.SimKinds, cfg.SimKind)
		}
	}
	cfg.Sims = len(cfg.SimKinds)
	h.cfg = cfg
	for i, kind := range cfg.SimKinds {
		if kind == "" {
			kind = "quectel"
		}
		id := fmt.Sprintf("gsm%d", i+1)
		m, err := sim.New(kind, sim.Options{ID: id, Logger: cfg.Logger.With("subsys", "sim", "line", id), ToneReports: cfg.SimToneReports,
			Garbage: cfg.SimGarbage, Callees: h.Callees, Speed: cfg.Speed, USSDReply: "Баланс: 250.00 р."})
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("simulated modem %s: %w", id, err)
		}
		h.sims[id] = m
		if err := h.addModem(ctx, id, ModemSpec{AT: m.ATPath(), Audio: m.AudioPath(), Kind: kind}); err != nil {
			h.Close()
			return nil, err
		}
	}
	for _, spec := range cfg.Modems {
		if spec.Key != "" && h.watch == nil {
			h.watch = discover.NewWatcher(func() ([]discover.Modem, error) { return discover.Find("/") }, 3*time.Second, cfg.Logger.With("subsys", "discover"))
		}
	}
	for i, spec := range cfg.Modems {
		if err := h.addModem(ctx, fmt.Sprintf("gsm%d", cfg.Sims+i+1), spec); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

func (h *Hotline) addModem(ctx context.Context, id string, spec ModemSpec) error {
	log := h.log.With("subsys", "line", "line", id, "kind", spec.Kind)
	open := func(ctx context.Context) (supervise.Ports, error) { return openPorts(spec) }
	if m, ok := h.sims[id]; ok {
		// A simulated modem that was unplugged comes back at new paths, as a real one does.
		open = func(ctx context.Context) (supervise.Ports, error) {
			return openPorts(ModemSpec{AT: m.ATPath(), Audio: m.AudioPath(), Kind: spec.Kind})
		}
	}
	if spec.Key != "" && h.watch != nil {
		open = func(ctx context.Context) (supervise.Ports, error) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var p supervise.Ports
			err := h.watch.WaitOpen(ctx, spec.Key, func(m discover.Modem) error {
				var err error
				p, err = openPorts(ModemSpec{AT: m.AT, Audio: m.Audio, Kind: spec.Kind})
				return err
			})
			return p, err
		}
	}
	// The first open happens here. A modem that is not there yet is no reason to stop the box:
	// the admin must answer, and the line keeps trying (its state says why it is down).
	var opened *supervise.Ports
	if first, err := open(ctx); err != nil {
		log.Error("cannot open the modem; the line will keep trying", "err", err)
	} else {
		opened = &first
	}
	var mu sync.Mutex
	l := supervise.New(supervise.Config{
		ID: id, Logger: log,
		Open: func(ctx context.Context) (supervise.Ports, error) {
			mu.Lock()
			if opened != nil {
				p := *opened
				opened = nil
				mu.Unlock()
				return p, nil
			}
			mu.Unlock()
			return open(ctx)
		},
		New: func(p supervise.Ports) supervise.Runner {
			pin := h.simPIN(id)
			switch spec.Kind {
			case "fxo":
				return fxo.New(id, p.AT, fxo.Options{Logger: log})
			case "simcom":
				return gsm.NewSIM7600(id, p.AT, p.Audio, gsm.SIMComOptions{Logger: log, ToneDetect: true, PIN: pin})
			case "huawei":
				return gsm.NewHuawei(id, p.AT, p.Audio, gsm.HuaweiOptions{Logger: log, ToneDetect: true, PIN: pin})
			default:
				return gsm.NewQuectel(id, p.AT, p.Audio, gsm.QuectelOptions{Logger: log, ToneDetect: true, PIN: pin})
			}
		},
		Power: h.powerLines(ctx, id, spec.Kind),
	})
	h.lines = append(h.lines, lineRunner{line: l, kind: spec.Kind})
	return nil
}

// simPIN is the SIM PIN of a line from the settings: "sim_pin_<line>", else "sim_pin" (""
// when the SIM has none). It is read each time the line's driver starts, so a PIN set in the
// admin is used at the next modem restart.
func (h *Hotline) simPIN(id string) string {
	ctx := context.Background()
	if v, _ := h.Store.Setting(ctx, "sim_pin_"+id, ""); strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	v, _ := h.Store.Setting(ctx, "sim_pin", "")
	return strings.TrimSpace(v)
}

// openPorts opens a modem's AT port and, but for an analog modem, its audio port.
func openPorts(spec ModemSpec) (supervise.Ports, error) {
	at, err := modem.OpenPort(spec.AT)
	if err != nil {
		return supervise.Ports{}, err
	}
	if spec.Kind == "fxo" {
		return supervise.Ports{AT: at}, nil
	}
	audio, err := modem.OpenPort(spec.Audio)
	if err != nil {
		at.Close()
		return supervise.Ports{}, fmt.Errorf("audio port: %w", err)
	}
	return supervise.Ports{AT: at, Audio: audio}, nil
}

// powerLines opens the modem's PWRKEY and RESET GPIO lines named in the settings
// (gpio_chip, default "gpiochip0"; gpio_<line>_pwrkey and gpio_<line>_reset, line offsets;
// gpio_active, 1 for the usual transistor driver, 0 for a direct wire). None set: none used.
func (h *Hotline) powerLines(ctx context.Context, id, kind string) gpio.Lines {
	setting := func(k, def string) string { v, _ := h.Store.Setting(ctx, k, def); return strings.TrimSpace(v) }
	chip := setting("gpio_chip", "gpiochip0")
	active, err := strconv.Atoi(setting("gpio_active", "1"))
	if err != nil || (active != 0 && active != 1) {
		active = 1
	}
	lines := gpio.Lines{Active: active, Timing: gpio.QuectelEC25}
	if kind == "simcom" {
		lines.Timing = gpio.SIMComSIM7600
	}
	pin := func(name string) *gpio.Line {
		v := setting("gpio_"+id+"_"+name, "")
		if v == "" {
			return nil
		}
		off, err := strconv.Atoi(v)
		if err != nil {
			h.log.Error("GPIO setting is not a line number", "setting", "gpio_"+id+"_"+name, "value", v)
			return nil
		}
		l, err := gpio.Open(chip, off, 1-active, "hotline "+id+" "+name)
		if err != nil {
			h.log.Error("cannot use the modem's GPIO line", "line", id, "pin", name, "err", err)
			return nil
		}
		h.pins = append(h.pins, l)
		return l
	}
	if p := pin("pwrkey"); p != nil {
		lines.PowerKey = p
	}
	if p := pin("reset"); p != nil {
		lines.Reset = p
	}
	return lines
}

// Lines returns the IDs of the lines.
func (h *Hotline) Lines() []string {
	ids := make([]string, len(h.lines))
	for i, l := range h.lines {
		ids[i] = l.line.ID()
	}
	return ids
}

// Run drives every line until ctx ends, then stops them all and waits; it returns nil. When the
// data disk turns read-only under it, it stops the same way once the calls have ended and
// returns ErrCardReadOnly: the box is to be started again.
func (h *Hotline) Run(ctx context.Context) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	for _, m := range h.sims {
		wg.Go(func() {
			if err := m.Run(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("simulated modem stopped", "err", err)
			}
		})
	}
	for _, l := range h.lines {
		wg.Go(func() {
			if err := l.line.Run(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("line stopped", "line", l.line.ID(), "err", err)
			}
		})
		wg.Go(func() {
			if err := h.Board.Serve(ctx, l.line); err != nil {
				h.log.Error("switchboard stopped", "line", l.line.ID(), "err", err)
			}
		})
	}
	wg.Go(func() {
		if err := h.disk.Run(ctx); err != nil {
			h.log.Error("disk guard stopped", "err", err)
		}
	})
	wg.Go(func() { h.retention(ctx) })
	wg.Go(func() {
		if err := h.Board.Serve(ctx, h.Browser); err != nil {
			h.log.Error("browser test line stopped", "err", err)
		}
	})
	if h.cfg.MDNS != "" {
		wg.Go(func() {
			r, err := mdns.New(h.cfg.MDNS, h.log.With("subsys", "mdns"))
			if err == nil {
				err = r.Run(ctx)
			}
			if err != nil {
				h.log.Error("the box cannot answer to its .local name", "err", err)
			}
		})
	}
	wg.Go(func() { h.clock.run(ctx) })
	if h.watch != nil {
		wg.Go(func() {
			if err := h.watch.Run(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("modem watcher stopped", "err", err)
			}
		})
	}
	if h.sip != nil {
		wg.Go(func() {
			if err := h.sip.Run(ctx); err != nil {
				h.log.Error("SIP stopped", "err", err)
			}
		})
	}
	h.startSMS(ctx, &wg)
	wg.Go(func() { h.alerts.run(ctx) })
	if h.copyOf == "" {
		wg.Go(func() { h.watchCardReadOnly(ctx, stop) })
	}
	wg.Wait()
	if err := context.Cause(ctx); errors.Is(err, ErrCardReadOnly) {
		return err
	}
	return nil
}

// ErrCardReadOnly ends Run when the data disk turned read-only under the running box: started
// again (systemd and gokrazy do it by themselves), it works from a copy in memory.
var ErrCardReadOnly = errors.New("the data disk turned read-only: start again to work from a copy in memory")

// readOnlyGrace is how long a box whose card turned read-only waits for the calls going on to
// end before it starts again.
const readOnlyGrace = 5 * time.Minute

// watchCardReadOnly ends Run (stop with ErrCardReadOnly) once the disk guard sees the data
// disk turned read-only and no call is up, or readOnlyGrace after. Until then calls are
// answered as usual, but nothing is recorded or logged.
func (h *Hotline) watchCardReadOnly(ctx context.Context, stop context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !h.disk.Status().ReadOnly {
			continue
		}
		calls := h.Board.Counters().ActiveCalls
		if since.IsZero() {
			since = time.Now()
			h.log.Error("the data disk turned read-only: the box starts again from a copy in memory once the calls going on have ended",
				"dir", h.Store.Dir(), "calls", calls)
		}
		if calls == 0 || time.Since(since) >= readOnlyGrace {
			stop(ErrCardReadOnly)
			return
		}
	}
}

// Close releases the ports and the store. Call it after Run has returned.
func (h *Hotline) Close() error {
	var errs []error
	for _, p := range h.pins {
		errs = append(errs, p.Close())
	}
	for _, m := range h.sims {
		errs = append(errs, m.Close())
	}
	errs = append(errs, h.Store.Close())
	return errors.Join(errs...)
}

// ErrNoSimLine is returned by TestCall when no simulated line is free.
var ErrNoSimLine = errors.New("no free simulated line")

// TestCall places a call from a simulated caller into the box and reports what happened, from
// the caller's side and from the call log.
func (h *Hotline) TestCall(ctx context.Context, tc TestCall) (TestCallResult, error) {
	id, m, err := h.pickSim(tc.Line)
	if err != nil {
		return TestCallResult{}, err
	}
	defer h.releaseSim(id)
	if len(tc.Say)%2 != 0 {
		return TestCallResult{}, errors.New("say_pcm must be 16-bit samples (an even number of bytes)")
	}
	say := make([]int16, len(tc.Say)/2)
	for i := range say {
		say[i] = int16(uint16(tc.Say[2*i]) | uint16(tc.Say[2*i+1])<<8)
	}
	// The box must have set its line up first, as a real modem is before a real call comes.
	for ready := time.NewTimer(10 * time.Second); h.Board.LineState(id) != "ready"; {
		select {
		case <-ready.C:
			return TestCallResult{}, fmt.Errorf("test call: line %s is not ready (%q)", id, h.Board.LineState(id))
		case <-ctx.Done():
			return TestCallResult{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The board's call ends are read from the start, also while the call runs: every line's
	// calls end on this channel, and a subscriber that does not read loses them once its
	// buffer is full, this call's end among them.
	ends, cancel := h.Board.Subscribe()
	defer cancel()
	type called struct {
		res sim.Result
		err error
	}
	done := make(chan called, 1)
	go func() {
		res, err := m.Call(ctx, sim.Caller{
			From:             tc.From,
			Digits:           tc.Digits,
			Say:              say,
			HangupAfter:      time.Duration(tc.HangupAfterMS) * time.Millisecond,
			HangupAfterHeard: time.Duration(tc.HangupAfterHeardMS) * time.Millisecond,
			MaxRings:         tc.MaxRings,
			NoToneReports:    tc.InbandOnly,
			DropEvery:        tc.DropEvery,
			LateEvery:        tc.LateEvery,
		})
		done <- called{res, err}
	}()
	var (
		end   switchboard.CallEnd
		ended bool // end is this line's first call end
		c     called
	)
	for waiting := true; waiting; {
		select {
		case e := <-ends:
			if e.LineID == id && !ended {
				end, ended = e, true
			}
		case c = <-done: // m.Call returns once ctx ends, so this goroutine is always waited for
			waiting = false
		}
	}
	if c.err != nil {
		return TestCallResult{}, fmt.Errorf("test call on %s: %w", id, c.err)
	}
	res := c.res
	out := TestCallResult{
		Line:            id,
		Rings:           res.Rings,
		AnsweredAfterMS: res.AnsweredAfter.Milliseconds(),
		FirstSoundMS:    res.FirstSoundAfter.Milliseconds(),
		DigitsSent:      res.DigitsSent,
		PromptsHeard:    res.PromptsHeard,
		SecondsHeard:    res.SecondsHeard,
		DurationMS:      res.Duration.Milliseconds(),
		HungUpBy:        res.HungUpBy,
		SimLateFrames:   res.LateFrames,
	}
	if tc.Record {
		out.Heard = make([]byte, 2*len(res.Heard))
		for i, s := range res.Heard {
			out.Heard[2*i], out.Heard[2*i+1] = byte(s), byte(uint16(s)>>8)
		}
	}
	// The record is completed right after the line's hang-up; wait for it if it is not in yet.
	wait := time.NewTimer(10 * time.Second)
	defer wait.Stop()
	for !ended {
		select {
		case e := <-ends:
			if e.LineID == id {
				end, ended = e, true
			}
		case <-wait.C:
			return out, errors.New("test call: the box did not complete the call record within 10 s")
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
	out.CallID = end.CallID
	rec, err := h.Store.Call(ctx, end.CallID)
	if err != nil {
		return out, fmt.Errorf("test call: read the call record: %w", err)
	}
	out.Outcome, out.MenuPath, out.Path, out.VoicemailID = rec.Outcome, rec.MenuPath, rec.Nodes, rec.VoicemailID
	out.AnsweredBy, out.Survey = rec.AnsweredBy, rec.Summary.Survey
	if rec.VoicemailID != 0 {
		if v, err := h.Store.Voicemail(ctx, rec.VoicemailID); err == nil {
			out.VoicemailSeconds = v.Duration.Seconds()
		}
	}
	return out, nil
}

func (h *Hotline) pickSim(want string) (string, sim.Modem, error) {
	h.simMu.Lock()
	defer h.simMu.Unlock()
	if want != "" {
		m, ok := h.sims[want]
		if !ok {
			return "", nil, fmt.Errorf("%q is not a simulated line", want)
		}
		if h.simBusy[want] {
			return "", nil, fmt.Errorf("line %s is busy with another test call", want)
		}
		h.simBusy[want] = true
		return want, m, nil
	}
	for _, id := range h.Lines() {
		if m, ok := h.sims[id]; ok && !h.simBusy[id] {
			h.simBusy[id] = true
			return id, m, nil
		}
	}
	return "", nil, ErrNoSimLine
}

func (h *Hotline) releaseSim(id string) {
	h.simMu.Lock()
	delete(h.simBusy, id)
	h.simMu.Unlock()
}

var (
	_ supervise.Runner = (*gsm.Quectel)(nil)
	_ supervise.Runner = (*gsm.SIM7600)(nil)
	_ supervise.Runner = (*gsm.Huawei)(nil)
	_ supervise.Runner = (*fxo.Modem)(nil)
	_ gsmLine          = (*supervise.Line)(nil)
)

// RecordingDir is the folder of recorded conversations in the data folder.
const RecordingDir = store.RecordingDir

// Disk is what the disk guard last saw: free space, whether recording is allowed, the alert.
func (h *Hotline) Disk() diskguard.Status {
	s := h.disk.Status()
	if h.copyOf != "" {
		s.WorkingCopy = true
		s.Alert = diskText(false, diskWorkingCopy, 0) // the status in English; the pages and alerts say it in the owner's language
	}
	return s
}

// WorkingCopyOf is the read-only data folder the box runs a working copy of, or "" when it
// runs on its data disk as it should.
func (h *Hotline) WorkingCopyOf() string { return h.copyOf }

// The owner's retention settings (whole numbers; "0" or unset: no limit).
const (
	// SettingRetentionDays: the audio of messages and recorded conversations older than this
	// many days is removed.
	SettingRetentionDays = "retention_days"
	// SettingRetentionMB: beyond this many MB of them, the oldest go (messages nobody has
	// dealt with last).
	SettingRetentionMB = "retention_mb"
)

// retention applies the owner's retention settings ([SettingRetentionDays],
// [SettingRetentionMB]) a minute after the start and then once a day. Rows stay; the disk
// guard frees more when the disk runs low.
func (h *Hotline) retention(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(24 * time.Hour)
		h.applyRetention(ctx)
	}
}

// applyRetention does one day's retention: the owner's deleted messages older than a week
// go for good, then the owner's limits are applied.
func (h *Hotline) applyRetention(ctx context.Context) {
	num := func(k string) int64 {
		v, _ := h.Store.Setting(ctx, k, "0")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	if n, err := h.Store.PurgeVoicemailTrash(ctx); err != nil {
		h.log.Error("purge deleted voicemail", "err", err)
	} else if n > 0 {
		h.log.Info("deleted voicemail older than a week removed", "messages", n)
	}
	r := store.Retention{MaxAge: time.Duration(num(SettingRetentionDays)) * 24 * time.Hour, MaxBytes: num(SettingRetentionMB) << 20}
	if r.MaxAge == 0 && r.MaxBytes == 0 {
		return
	}
	res, err := h.Store.ApplyRetention(ctx, r)
	if err != nil {
		h.log.Error("retention", "err", err)
		return
	}
	if len(res.Removed) > 0 || res.Recordings > 0 {
		h.log.Info("old recordings removed", "messages", len(res.Removed), "conversations", res.Recordings, "bytes", res.Bytes)
	}
}

// SIPAddr is where phones register, or "" when SIP is off.
func (h *Hotline) SIPAddr() string {
	if h.sip == nil {
		return ""
	}
	return h.sip.Addr()
}

// SIPRegistrations lists the phones registered now.
func (h *Hotline) SIPRegistrations() []sip.Registration {
	if h.sip == nil {
		return nil
	}
	return h.sip.Registrations()
}

// networkTime asks the ready lines for the mobile network's time; the first answer wins.
func (h *Hotline) networkTime(ctx context.Context) (time.Time, error) {
	errs := []error{errors.New("no line has the network time")}
	for _, l := range h.lines {
		n, ok := l.line.(interface {
			NetworkTime(ctx context.Context) (time.Time, error)
		})
		if !ok || h.Board.LineState(l.line.ID()) != "ready" {
			continue
		}
		t, err := n.NetworkTime(ctx)
		if err == nil {
			return t, nil
		}
		errs = append(errs, err)
	}
	return time.Time{}, errors.Join(errs...)
}
