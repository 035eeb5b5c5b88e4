package modem

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw/modem/modemtest"
)

func TestCommandPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Echo(false)
		m.Prompt("AT+CMGS=18")
		m.On("0011000B919761982143F50000AA0548656C6C6F", "+CMGS: 42", "OK")
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)
		resp, err := ch.CommandPrompt(context.Background(), "AT+CMGS=18", "0011000B919761982143F50000AA0548656C6C6F", 10*time.Second)
		if err != nil {
			t.Fatalf("CommandPrompt: %v", err)
		}
		if !slices.Equal(resp.Lines, []string{"+CMGS: 42"}) || resp.Final != "OK" {
			t.Errorf("reply %+v", resp)
		}
		want := []string{"AT+CMGS=18", "0011000B919761982143F50000AA0548656C6C6F"}
		if got := m.Commands(); !slices.Equal(got, want) {
			t.Errorf("modem got %q, want %q", got, want)
		}
		// The channel works as before afterwards.
		m.On("AT", "OK")
		if _, err := ch.Command(context.Background(), "AT", 0); err != nil {
			t.Errorf("AT after the prompt: %v", err)
		}
	})
}

func TestCommandPromptRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Echo(false)
		m.On("AT+CMGS=18", "+CMS ERROR: 304")
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)
		_, err := ch.CommandPrompt(context.Background(), "AT+CMGS=18", "00", 10*time.Second)
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Final != "+CMS ERROR: 304" {
			t.Fatalf("err = %v, want +CMS ERROR: 304", err)
		}
		if got := m.Commands(); !slices.Equal(got, []string{"AT+CMGS=18"}) {
			t.Errorf("modem got %q; no data may follow a refusal", got)
		}
	})
}

func TestCommandPromptTimeoutCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.Echo(false)
		m.Prompt("AT+CMGS=5")
		m.On("0000000000") // the data gets no answer
		ch := New(m.Port(), Options{Logger: testLogger(t)})
		runChannel(t, ch)
		_, err := ch.CommandPrompt(context.Background(), "AT+CMGS=5", "0000000000", 5*time.Second)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		// The prompt never came back for the second one: ESC is sent to leave it.
		m.On("AT+CMGS=6")
		_, err = ch.CommandPrompt(context.Background(), "AT+CMGS=6", "00", 5*time.Second)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		m.WaitCommand("<ESC>", 1)
	})
}

func TestCommandPromptRejectsControlData(t *testing.T) {
	ch := New(&bytes.Buffer{}, Options{})
	for _, d := range []string{"00\x1a", "00\r", "\x1b", "0\n0"} {
		if _, err := ch.CommandPrompt(context.Background(), "AT+CMGS=1", d, time.Second); err == nil {
			t.Errorf("data %q accepted", d)
		}
	}
}

func TestCommandRedacted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t) // echo on: the echo must not show the PIN either
		m.On(`AT+CPIN="4321"`, "+CME ERROR: 16")
		var log bytes.Buffer
		ch := New(m.Port(), Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		stop := runChannel(t, ch)
		_, err := ch.CommandRedacted(context.Background(), `AT+CPIN="4321"`, `AT+CPIN="****"`, 0)
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Final != "+CME ERROR: 16" {
			t.Fatalf("err = %v", err)
		}
		stop()
		if strings.Contains(err.Error(), "4321") || strings.Contains(ce.Cmd, "4321") {
			t.Errorf("error shows the secret: %v", err)
		}
		if strings.Contains(log.String(), "4321") {
			t.Errorf("log shows the secret:\n%s", log.String())
		}
		if !strings.Contains(log.String(), `AT+CPIN=\"****\"`) {
			t.Errorf("log does not show the redacted command:\n%s", log.String())
		}
	})
}
