package modem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw/modem/modemtest"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func quectelURC(l string) bool {
	for _, p := range []string{"+CLIP:", "+QIND:", "+CLCC:", "+QTONEDET:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// runChannel starts ch.Run and returns a function that stops it and returns Run's error.
func runChannel(t *testing.T, ch *Channel) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ch.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// drainURCs returns the URCs waiting now.
func drainURCs(ch *Channel) []string {
	var out []string
	for {
		select {
		case u, ok := <-ch.URCs():
			if !ok {
				return out
			}
			out = append(out, u)
		default:
			return out
		}
	}
}

// TestCommandTranscripts plays one command against raw modem output and checks the reply, the
// error and the URCs that were split off.
func TestCommandTranscripts(t *testing.T) {
	tests := []struct {
		name      string
		cmd       string
		reply     string // what the modem sends once it has read the command
		bytewise  bool   // send the reply one byte per write
		wantLines []string
		wantFinal string
		wantErr   bool // a *CommandError
		wantURCs  []string
	}{
		{
			name: "echo on", cmd: "AT+CGMM",
			reply:     "AT+CGMM\r\r\nEC25\r\n\r\nOK\r\n",
			wantLines: []string{"EC25"}, wantFinal: "OK",
		},
		{
			name: "echo off", cmd: "ATI",
			reply:     "\r\nQuectel\r\n\r\nEC25\r\n\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
			wantLines: []string{"Quectel", "EC25", "Revision: EC25EFAR06A06M4G"}, wantFinal: "OK",
		},
		{
			name: "urcs interleaved with a reply", cmd: "AT+CSQ",
			reply: "AT+CSQ\r\r\nRING\r\n\r\n+CLIP: \"+79161234567\",145,,,,0\r\n\r\n+CSQ: 20,99\r\n" +
				"\r\n+QIND: \"ccinfo\",1,1,4,0,0,\"+79161234567\",145\r\n\r\nNO CARRIER\r\n\r\nOK\r\n",
			wantLines: []string{"+CSQ: 20,99"}, wantFinal: "OK",
			wantURCs: []string{"RING", "+CLIP: \"+79161234567\",145,,,,0",
				"+QIND: \"ccinfo\",1,1,4,0,0,\"+79161234567\",145", "NO CARRIER"},
		},
		{
			name: "garbage inside a reply", cmd: "AT+CSQ",
			reply:     "\r\n\x00\x01\xff\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n+CSQ: 20,99\r\ncaf\xe9\r\n\r\nOK\r\n",
			wantLines: []string{"+CSQ: 20,99"}, wantFinal: "OK",
		},
		{
			name: "simcom framing, byte by byte", cmd: "AT+CSQ", bytewise: true,
			reply:     "AT+CSQ\r\r\n+CSQ: 20,99\r\r\n\r\nOK\r\r\n",
			wantLines: []string{"+CSQ: 20,99"}, wantFinal: "OK",
		},
		{
			name: "cme error", cmd: "AT+CPIN?",
			reply:     "\r\n+CME ERROR: SIM not inserted\r\n",
			wantFinal: "+CME ERROR: SIM not inserted", wantErr: true,
		},
		{
			name: "cms error", cmd: "AT+CMGR=7",
			reply:     "\r\n+CMS ERROR: 321\r\n",
			wantFinal: "+CMS ERROR: 321", wantErr: true,
		},
		{
			name: "plain error", cmd: "AT+QFOO",
			reply:     "AT+QFOO\r\r\nERROR\r\n",
			wantFinal: "ERROR", wantErr: true,
		},
		{
			name: "answer fails: caller gone", cmd: "ATA",
			reply:     "\r\nNO CARRIER\r\n",
			wantFinal: "NO CARRIER", wantErr: true,
		},
		{
			name: "ring while answering is a urc", cmd: "ATA",
			reply:     "\r\nRING\r\n\r\nOK\r\n",
			wantFinal: "OK", wantURCs: []string{"RING"},
		},
		{
			name: "dial busy", cmd: "ATD+79161234567;",
			reply:     "\r\nBUSY\r\n",
			wantFinal: "BUSY", wantErr: true,
		},
		{
			name: "dial no answer", cmd: "ATD+79161234567;",
			reply:     "\r\nNO ANSWER\r\n",
			wantFinal: "NO ANSWER", wantErr: true,
		},
		{
			name: "no dialtone", cmd: "ATD123;",
			reply:     "\r\nNO DIALTONE\r\n",
			wantFinal: "NO DIALTONE", wantErr: true,
		},
		{
			name: "connect is a success", cmd: "ATD*99#",
			reply:     "\r\nCONNECT 150000000\r\n",
			wantFinal: "CONNECT 150000000",
		},
		{
			name: "own prefix beats IsURC", cmd: "AT+CLCC",
			reply:     "\r\n+CLCC: 1,1,4,0,0,\"+79161234567\",145\r\n\r\nOK\r\n",
			wantLines: []string{"+CLCC: 1,1,4,0,0,\"+79161234567\",145"}, wantFinal: "OK",
		},
		{
			name: "urc with the reply's neighbour name", cmd: "AT+QINDCFG=\"ccinfo\",1,0",
			reply:     "\r\n+QIND: \"csq\",20,99\r\n\r\nOK\r\n",
			wantFinal: "OK", wantURCs: []string{"+QIND: \"csq\",20,99"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host, dev := net.Pipe()
				defer dev.Close()
				ch := New(host, Options{Logger: testLogger(t), IsURC: quectelURC})
				runChannel(t, ch)

				gotCmd := make(chan string, 1)
				go func() {
					var cmd []byte
					buf := make([]byte, 1)
					for {
						if _, err := dev.Read(buf); err != nil {
							gotCmd <- "read error: " + err.Error()
							return
						}
						if buf[0] == '\r' {
							break
						}
						cmd = append(cmd, buf[0])
					}
					gotCmd <- string(cmd)
					if tt.bytewise {
						for i := range len(tt.reply) {
							dev.Write([]byte{tt.reply[i]})
						}
					} else {
						dev.Write([]byte(tt.reply))
					}
				}()

				resp, err := ch.Command(context.Background(), tt.cmd, time.Second)
				if c := <-gotCmd; c != tt.cmd {
					t.Errorf("modem got %q, want %q", c, tt.cmd)
				}
				var ce *CommandError
				if tt.wantErr {
					if !errors.As(err, &ce) {
						t.Fatalf("err = %v, want a *CommandError", err)
					}
					if ce.Cmd != tt.cmd || ce.Final != tt.wantFinal {
						t.Errorf("CommandError = %+v, want cmd %q final %q", ce, tt.cmd, tt.wantFinal)
					}
				} else if err != nil {
					t.Fatalf("Command: %v", err)
				}
				if !slices.Equal(resp.Lines, tt.wantLines) || resp.Final != tt.wantFinal {
					t.Errorf("reply = %q / %q, want %q / %q", resp.Lines, resp.Final, tt.wantLines, tt.wantFinal)
				}
				synctest.Wait()
				if got := drainURCs(ch); !slices.Equal(got, tt.wantURCs) {
					t.Errorf("URCs = %q, want %q", got, tt.wantURCs)
				}
			})
		})
	}
}

func TestCommandTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Echo(false)
		m.Expect("AT+SLOW") // silent
		m.On("AT", "OK")
		ch := New(m.Port(), Options{Logger: testLogger(t), DefaultTimeout: 2 * time.Second})
		runChannel(t, ch)

		start := time.Now()
		_, err := ch.Command(context.Background(), "AT+SLOW", 0)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("timed out after %v, want the default 2s", d)
		}

		// The late reply arrives when nothing waits for it: dropped, never taken as a URC.
		if err := m.Push("OK"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := drainURCs(ch); len(got) != 0 {
			t.Errorf("late reply became URCs %q", got)
		}
		resp, err := ch.Command(context.Background(), "AT", time.Second)
		if err != nil || resp.Final != "OK" {
			t.Fatalf("next command: %v %+v", err, resp)
		}
	})
}

func TestCommandContextCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Expect("AT+SLOW")
		m.On("AT+QUEUED", "OK")
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)

		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := ch.Command(context.Background(), "AT+SLOW", 10*time.Second)
			first <- err
		}()
		m.WaitCommand("AT+SLOW", 1)
		queued := make(chan error, 1)
		go func() {
			_, err := ch.Command(ctx, "AT+QUEUED", time.Second)
			queued <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-queued; !errors.Is(err, context.Canceled) {
			t.Errorf("queued command: err = %v, want context.Canceled", err)
		}
		if n := m.Count("AT+QUEUED"); n != 0 {
			t.Errorf("cancelled command was sent %d times", n)
		}
		if err := <-first; !errors.Is(err, ErrTimeout) {
			t.Errorf("first command: err = %v, want ErrTimeout", err)
		}
	})
}

func TestPortVanishesWhileCommandWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Expect("AT+CLCC") // never answered
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		stop := runChannel(t, ch)

		errc := make(chan error, 1)
		go func() {
			_, err := ch.Command(context.Background(), "AT+CLCC", time.Minute)
			errc <- err
		}()
		m.WaitCommand("AT+CLCC", 1)
		start := time.Now()
		m.Close()
		err := <-errc
		if !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
			t.Errorf("command err = %v, want ErrClosed wrapping io.EOF", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("command returned %v after the port vanished, want at once", d)
		}
		if err := stop(); !errors.Is(err, io.EOF) {
			t.Errorf("Run = %v, want a read error wrapping io.EOF", err)
		}
		if _, ok := <-ch.URCs(); ok {
			t.Error("URCs not closed after Run returned")
		}
		if _, err := ch.Command(context.Background(), "AT", time.Second); !errors.Is(err, ErrClosed) {
			t.Errorf("command after Run: err = %v, want ErrClosed", err)
		}
	})
}

func TestRunStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Expect("AT+SLOW")
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		stop := runChannel(t, ch)
		errc := make(chan error, 1)
		go func() {
			_, err := ch.Command(context.Background(), "AT+SLOW", time.Minute)
			errc <- err
		}()
		m.WaitCommand("AT+SLOW", 1)
		if err := stop(); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("pending command: err = %v, want ErrClosed", err)
		}
		select {
		case <-ch.Done():
		default:
			t.Error("Done not closed")
		}
		if err := ch.Run(context.Background()); err == nil {
			t.Error("second Run succeeded")
		}
	})
}

func TestConcurrentCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		const callers, rounds = 8, 20
		for i := range callers {
			m.On(fmt.Sprintf("AT+X%d", i), fmt.Sprintf("+X%d: %d", i, i), "OK")
		}
		ch := New(m.Port(), Options{Logger: slog.New(slog.DiscardHandler)})
		runChannel(t, ch)

		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				cmd := fmt.Sprintf("AT+X%d", i)
				want := fmt.Sprintf("+X%d: %d", i, i)
				for range rounds {
					resp, err := ch.Command(context.Background(), cmd, time.Second)
					if err != nil {
						t.Errorf("%s: %v", cmd, err)
						return
					}
					if !slices.Equal(resp.Lines, []string{want}) || resp.Final != "OK" {
						t.Errorf("%s: got %q %q", cmd, resp.Lines, resp.Final)
						return
					}
				}
			})
		}
		wg.Wait()
		if u := m.Unexpected(); len(u) != 0 {
			t.Errorf("modem saw garbled commands %q", u)
		}
		if n := len(m.Commands()); n != callers*rounds {
			t.Errorf("modem got %d commands, want %d", n, callers*rounds)
		}
	})
}

func TestURCOverflowDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)
		const n = urcBuffer + 36
		for i := range n {
			if err := m.Push(fmt.Sprintf("+QIND: \"csq\",%d,99", i)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		got := drainURCs(ch)
		if len(got) != urcBuffer {
			t.Fatalf("got %d URCs, want %d", len(got), urcBuffer)
		}
		for i, u := range got {
			if want := fmt.Sprintf("+QIND: \"csq\",%d,99", n-urcBuffer+i); u != want {
				t.Fatalf("URC %d = %q, want %q", i, u, want)
			}
		}
	})
}

func TestUnsolicitedLinesWithNoCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)
		raw := "\r\nRING\r\n\r\n+CLIP: \"+79161234567\",145,,,,0\r\n" +
			"\x00\x00\xff\r\n" + // noise
			"AT+CLCC\r" + // a late echo
			"\r\nOK\r\n" + // a late reply
			"\r\nNO CARRIER\r\n"
		if err := m.WriteRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		want := []string{"RING", "+CLIP: \"+79161234567\",145,,,,0", "NO CARRIER"}
		if got := drainURCs(ch); !slices.Equal(got, want) {
			t.Errorf("URCs = %q, want %q", got, want)
		}
	})
}

func TestInvalidCommand(t *testing.T) {
	ch := New(new(bytes.Buffer), Options{})
	for _, cmd := range []string{"", "AT\rATH", "AT\n"} {
		if _, err := ch.Command(context.Background(), cmd, time.Second); err == nil {
			t.Errorf("Command(%q) succeeded", cmd)
		}
	}
}

func TestCommandErrorIsAs(t *testing.T) {
	_, err := finish("AT+CPIN?", Response{Final: "+CME ERROR: 10"})
	wrapped := fmt.Errorf("init: %w", err)
	var ce *CommandError
	if !errors.As(wrapped, &ce) || ce.Final != "+CME ERROR: 10" || ce.Cmd != "AT+CPIN?" {
		t.Fatalf("errors.As(%v) = %+v", wrapped, ce)
	}
	if got, want := err.Error(), "modem: AT+CPIN?: +CME ERROR: 10"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestIsFinalOK: VCON ends AT+VLS=1 of a voice modem as a success; without the hook it is an
// information line and the command times out; unsolicited, it stays a URC.
func TestIsFinalOK(t *testing.T) {
	vcon := func(l string) bool { return l == "VCON" }
	for _, tt := range []struct {
		name      string
		hook      func(string) bool
		wantFinal string
		wantErr   error
	}{
		{name: "with hook", hook: vcon, wantFinal: "VCON"},
		{name: "without hook", wantErr: ErrTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host, dev := net.Pipe()
				defer dev.Close()
				ch := New(host, Options{Logger: testLogger(t), IsFinalOK: tt.hook})
				runChannel(t, ch)
				go func() {
					buf := make([]byte, 64)
					n := 0
					for n == 0 || buf[n-1] != '\r' {
						k, err := dev.Read(buf[n:])
						if err != nil {
							return
						}
						n += k
					}
					dev.Write([]byte("\r\nVCON\r\n"))
				}()
				resp, err := ch.Command(context.Background(), "AT+VLS=1", time.Second)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("Command: %v, want %v", err, tt.wantErr)
				}
				if resp.Final != tt.wantFinal {
					t.Errorf("final = %q, want %q", resp.Final, tt.wantFinal)
				}
			})
		})
	}
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		ch := New(m.Port(), Options{Logger: testLogger(t), IsFinalOK: vcon})
		runChannel(t, ch)
		if err := m.WriteRaw([]byte("\r\nVCON\r\n")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := drainURCs(ch); !slices.Equal(got, []string{"VCON"}) {
			t.Errorf("URCs = %q, want [VCON]", got)
		}
	})
}

// A command whose caller gives up is still owed its final result: the next command waits for it,
// so the late OK is not taken as the next command's answer.
func TestCancelledCommandsLateReplyIsNotTheNextOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Expect("AT+SLOW") // no reply yet
		m.On("AT+NEXT", "+NEXT: 7", "OK")
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)

		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := ch.Command(ctx, "AT+SLOW", 5*time.Second)
			first <- err
		}()
		m.WaitCommand("AT+SLOW", 1)
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled command: err = %v", err)
		}
		next := make(chan Response, 1)
		go func() {
			r, err := ch.Command(context.Background(), "AT+NEXT", 5*time.Second)
			if err != nil {
				t.Errorf("next command: %v", err)
			}
			next <- r
		}()
		time.Sleep(time.Second)
		if n := m.Count("AT+NEXT"); n != 0 {
			t.Fatalf("the next command went out before the cancelled one was answered")
		}
		m.Push("OK") // the late answer to AT+SLOW
		r := <-next
		if r.Final != "OK" || !slices.Equal(r.Lines, []string{"+NEXT: 7"}) {
			t.Errorf("next command got %+v, want its own reply", r)
		}
	})
}

// Without any late reply, the next command goes out once the cancelled one's timeout passed.
func TestCancelledCommandHoldsTheLineUntilItsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Expect("AT+SLOW")
		m.On("AT+NEXT", "OK")
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _, _ = ch.Command(ctx, "AT+SLOW", 2*time.Second) }()
		m.WaitCommand("AT+SLOW", 1)
		start := time.Now()
		cancel()
		if _, err := ch.Command(context.Background(), "AT+NEXT", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("next command answered %v after the cancel, want the 2 s timeout", d)
		}
	})
}
