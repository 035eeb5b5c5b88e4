package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"hotline/daemon"
	"hotline/voice"
	"hotline/voice/wav"
)

func cmdCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "http://127.0.0.1:8080", "address of the running hotline (started with --sim)")
	from := fs.String("from", "", "the caller's number, as the network presents it")
	line := fs.String("line", "", "simulated line to call (default: the first free one)")
	digits := fs.String("digits", "", "keys to press when the menu has played")
	say := fs.String("say", "", "WAV file the caller says after the beep")
	record := fs.String("record", "", "write what the caller heard to this WAV file")
	inband := fs.Bool("inband", false, "the modem does not report keys itself: the box must hear the tones")
	hangup := fs.Duration("hangup-after", 0, "the caller hangs up this long after the answer (default: waits for the box)")
	timeout := fs.Duration("timeout", 6*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("call: unexpected argument %q", fs.Arg(0))}
	}
	for _, k := range *digits {
		if !strings.ContainsRune("0123456789*#ABCD", k) {
			return usageError{fmt.Sprintf("call: %q is not a key of a phone", k)}
		}
	}
	tc := daemon.TestCall{From: *from, Line: *line, Digits: *digits, Record: *record != "", InbandOnly: *inband, HangupAfterMS: int(hangup.Milliseconds())}
	if *say != "" {
		samples, err := wav.ReadFileMono8k(*say)
		if err != nil {
			return fmt.Errorf("call: %w", err)
		}
		tc.Say = make([]byte, 2*len(samples))
		voice.EncodeS16LE(tc.Say, samples)
	}
	body, err := json.Marshal(tc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*addr, "/")+"/api/sim/call", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	fmt.Fprintf(stdout, "calling the hotline at %s from %q...\n", *addr, *from)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call: is the hotline running with --sim? %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("call: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("call: the hotline said %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	var res daemon.TestCallResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("call: unreadable answer: %w", err)
	}
	if *record != "" {
		if err := writeHeard(*record, res.Heard); err != nil {
			return fmt.Errorf("call: %w", err)
		}
		fmt.Fprintf(stdout, "what the caller heard is in %s\n", *record)
	}
	res.Heard = nil
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}

func writeHeard(path string, pcm []byte) error {
	samples := make([]int16, len(pcm)/2)
	voice.DecodeS16LE(samples, pcm[:2*len(samples)])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := wav.Encode(f, samples, voice.Rate); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
