// Package testcorpus gives the tests of voice/ real human speech and music: the Debian packages
// of Asterisk's prompts (a woman's voice in English and in Russian) and its music on hold, about
// 69 minutes of 8 kHz audio. `make test` installs the packages; without them the tests that use
// the corpus fail. Only tests and the benchmark harness voice/dspbench import this package.
package testcorpus

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"hotline/voice/wav"
)

// Packages are the Debian packages of the corpus.
var Packages = []string{
	"asterisk-core-sounds-en-wav",
	"asterisk-core-sounds-ru-wav",
	"asterisk-moh-opsound-wav",
}

// File is one file of the corpus.
type File struct {
	Package string  // the Debian package it comes from
	Path    string  // where it is installed
	Samples []int16 // 8 kHz mono
}

var (
	once  sync.Once
	files []File
	err   error
)

// paths lists the WAV files of one Debian package.
func paths(pkg string) ([]string, error) {
	out, err := exec.Command("dpkg", "-L", pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("the speech corpus needs the Debian package %s (apt-get install %s): dpkg -L: %w",
			pkg, strings.Join(Packages, " "), err)
	}
	var ps []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if p := sc.Text(); strings.HasSuffix(p, ".wav") {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("package %s holds no WAV file", pkg)
	}
	return ps, nil
}

// Load returns every file of the corpus, read once per test binary; it fails t when a package is
// missing or a file does not decode. The samples are shared: do not change them.
func Load(t testing.TB) []File {
	t.Helper()
	fs, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// Files is Load for programs: it returns every file of the corpus, read once per process, or
// the reason it cannot. The samples are shared: do not change them.
func Files() ([]File, error) {
	once.Do(func() {
		for _, pkg := range Packages {
			ps, e := paths(pkg)
			if e != nil {
				err = e
				return
			}
			for _, p := range ps {
				files = append(files, File{Package: pkg, Path: p})
			}
		}
		err = Parallel(len(files), func(i int) error {
			s, err := wav.ReadFileMono8k(files[i].Path)
			files[i].Samples = s
			return err
		})
	})
	return files, err
}

// Parallel runs f(0..n-1) on GOMAXPROCS workers and returns the first error, in index order.
func Parallel(n int, f func(i int) error) error {
	next := make(chan int)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
