package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"hotline/daemon"
	"hotline/hw/sim"
)

// cmdSim is `hotline sim` (not in the usage text: a tool for tests and demos): simulated modems
// on pseudo-terminals in a process of their own, for a `hotline run --modem ...` started
// separately, as the modems of a real box are devices apart from the daemon. It prints one
// line per modem, "--modem PATH,audio=PATH,kind=KIND", the line ID the daemon will give it
// (gsm1, gsm2, ... in the order given), then "Sim calls: URL": POST URL/api/sim/call places a
// call from a virtual caller, as `hotline call --addr URL` does, and answers with what the
// caller experienced (the daemon's call log is the daemon's to tell), with the underruns the
// simulator itself may have caused by pausing. POST URL/api/sim/callee sets how a number the
// box dials behaves ({"number": N, "callee": sim.Callee}); POST URL/api/sim/callee/next waits
// for the next call the box places to {"number": N} to end and tells what its callee
// experienced. --speed runs the modems' frames, rings and virtual people that many times
// faster than real time (soak tests).
func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var kinds simFlag
	fs.Var(&kinds, "kinds", "one kind per modem: quectel,simcom,huawei,fxo (or a number of quectel modems)")
	listen := fs.String("listen", "127.0.0.1:0", "address of the call API")
	debug := fs.Bool("debug", false, "log every AT line")
	speed := fs.Float64("speed", 1, "run the modems' clocks this many times faster than real time")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	for range kinds.n {
		kinds.kinds = append(kinds.kinds, "quectel")
	}
	if len(kinds.kinds) == 0 || len(kinds.kinds) > 16 {
		return usageError{"sim: --kinds takes 1 to 16 modems"}
	}
	if *speed < 1 || *speed > 20 {
		return usageError{"sim: --speed takes 1 to 20"}
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// Every number the box dials answers after two rings and takes the call with 1, as in
	// `hotline run --sim`.
	callees := sim.NewCallees()
	callees.SetDefault(sim.Callee{AnswerAfter: 2 * time.Second, Digits: "1", DigitsAfter: 3 * time.Second, HangupAfter: 30 * time.Second})
	s := &simServer{modems: map[string]sim.Modem{}, busy: map[string]bool{}, callees: callees}
	defer func() {
		for _, m := range s.modems {
			m.Close()
		}
	}()
	for i, kind := range kinds.kinds {
		id := fmt.Sprintf("gsm%d", i+1)
		m, err := sim.New(kind, sim.Options{ID: id, Logger: log.With("line", id), ToneReports: true, Callees: callees, Speed: *speed})
		if err != nil {
			return fmt.Errorf("sim %s: %w", id, err)
		}
		s.modems[id] = m
		spec := m.ATPath()
		if kind != "fxo" {
			spec += ",audio=" + m.AudioPath()
		}
		fmt.Fprintf(stdout, "--modem %s,kind=%s %s\n", spec, kind, id)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/sim/call", s.call)
	mux.HandleFunc("POST /api/sim/callee", s.setCallee)
	mux.HandleFunc("POST /api/sim/callee/next", s.nextCallee)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(s.modems)+1)
	for id, m := range s.modems {
		wg.Go(func() {
			if err := m.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("sim %s: %w", id, err)
			}
		})
	}
	wg.Go(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("sim: %w", err)
		}
	})
	fmt.Fprintf(stdout, "Sim calls: http://%s\n", ln.Addr())
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	shut, cancelShut := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelShut()
	_ = hs.Shutdown(shut)
	cancel()
	wg.Wait()
	return runErr
}

// simServer places the calls asked for over HTTP, one at a time per modem.
type simServer struct {
	modems  map[string]sim.Modem
	callees *sim.Callees
	mu      sync.Mutex
	busy    map[string]bool
}

// simCallee is the body of /api/sim/callee and /api/sim/callee/next.
type simCallee struct {
	Number string     `json:"number"`
	Callee sim.Callee `json:"callee"`
}

func (s *simServer) setCallee(w http.ResponseWriter, r *http.Request) {
	var c simCallee
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&c); err != nil || c.Number == "" {
		http.Error(w, fmt.Sprintf("bad callee: %v", err), http.StatusBadRequest)
		return
	}
	s.callees.Set(c.Number, c.Callee)
	w.WriteHeader(http.StatusNoContent)
}

func (s *simServer) nextCallee(w http.ResponseWriter, r *http.Request) {
	var c simCallee
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&c); err != nil || c.Number == "" {
		http.Error(w, fmt.Sprintf("bad callee: %v", err), http.StatusBadRequest)
		return
	}
	res, err := s.callees.Next(r.Context(), c.Number)
	if err != nil {
		http.Error(w, err.Error(), http.StatusGatewayTimeout)
		return
	}
	res.Heard = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (s *simServer) call(w http.ResponseWriter, r *http.Request) {
	var tc daemon.TestCall
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&tc); err != nil {
		http.Error(w, "bad call: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(tc.Say)%2 != 0 {
		http.Error(w, "say_pcm must be 16-bit samples", http.StatusBadRequest)
		return
	}
	id, m, err := s.take(tc.Line)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	defer s.release(id)
	say := make([]int16, len(tc.Say)/2)
	for i := range say {
		say[i] = int16(uint16(tc.Say[2*i]) | uint16(tc.Say[2*i+1])<<8)
	}
	res, err := m.Call(r.Context(), sim.Caller{From: tc.From, Digits: tc.Digits, Say: say,
		HangupAfter: time.Duration(tc.HangupAfterMS) * time.Millisecond, MaxRings: tc.MaxRings,
		HangupAfterHeard: time.Duration(tc.HangupAfterHeardMS) * time.Millisecond,
		NoToneReports:    tc.InbandOnly, DropEvery: tc.DropEvery, LateEvery: tc.LateEvery})
	if err != nil {
		http.Error(w, fmt.Sprintf("call on %s: %v", id, err), http.StatusBadGateway)
		return
	}
	out := daemon.TestCallResult{Line: id, Rings: res.Rings, AnsweredAfterMS: res.AnsweredAfter.Milliseconds(),
		FirstSoundMS: res.FirstSoundAfter.Milliseconds(), DigitsSent: res.DigitsSent, PromptsHeard: res.PromptsHeard,
		SecondsHeard: res.SecondsHeard, DurationMS: res.Duration.Milliseconds(), HungUpBy: res.HungUpBy,
		SimLateFrames: res.LateFrames}
	if tc.Record {
		out.Heard = make([]byte, 2*len(res.Heard))
		for i, v := range res.Heard {
			out.Heard[2*i], out.Heard[2*i+1] = byte(v), byte(uint16(v)>>8)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *simServer) take(want string) (string, sim.Modem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if want != "" {
		m, ok := s.modems[want]
		switch {
		case !ok:
			return "", nil, fmt.Errorf("%q is not a simulated line", want)
		case s.busy[want]:
			return "", nil, fmt.Errorf("line %s is busy with another call", want)
		}
		s.busy[want] = true
		return want, m, nil
	}
	for i := 1; i <= len(s.modems); i++ {
		id := fmt.Sprintf("gsm%d", i)
		if !s.busy[id] {
			s.busy[id] = true
			return id, s.modems[id], nil
		}
	}
	return "", nil, errors.New("every simulated line is busy")
}

func (s *simServer) release(id string) {
	s.mu.Lock()
	delete(s.busy, id)
	s.mu.Unlock()
}
