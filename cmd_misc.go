package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"hotline/daemon/store"
	"hotline/voice/dtmf"
	"hotline/voice/importer"
)

func cmdPasswd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./var", "data folder of the hotline")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, "New password for the owner (at least 8 characters), then Enter: ")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return errors.New("passwd: no password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	st, err := store.Open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetPassword(ctx, "owner", pw, store.RoleOwner); err != nil {
		if errors.Is(err, store.ErrWeakPassword) {
			return errors.New("passwd: the password is too short: use at least 8 characters")
		}
		return fmt.Errorf("passwd: %w", err)
	}
	_ = st.Audit(ctx, "owner", "password set", "from the command line")
	fmt.Fprintln(stdout, "The owner's password is set. Log in as \"owner\".")
	return nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func cmdDTMF(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"usage: hotline dtmf FILE.wav..."}
	}
	var failed error
	for _, name := range args {
		samples, err := readAudioFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			failed = errors.New("dtmf: some files could not be read")
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\n", name, dtmf.Decode(samples))
	}
	return failed
}

// readAudioFile reads a WAV or MP3 file as 8 kHz mono, levels untouched.
func readAudioFile(name string) ([]int16, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return importer.Decode(f, 0)
}
