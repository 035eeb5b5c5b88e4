package update

import (
	"strconv"
	"strings"
)

// parseVersion reads a release version as `git describe` prints it: an optional "v", dotted
// numbers, then optionally "-N-gHASH" (N commits after the tag) and "-dirty". It reports false
// for anything else (a bare commit hash, "dev", "1.2.0-rc1").
func parseVersion(s string) ([]int, bool) {
	s = strings.TrimPrefix(s, "v")
	s = strings.TrimSuffix(s, "-dirty")
	var after int
	if i := strings.Index(s, "-"); i >= 0 {
		rest := strings.Split(s[i+1:], "-")
		if len(rest) != 2 || !strings.HasPrefix(rest[1], "g") || len(rest[1]) < 2 {
			return nil, false
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 {
			return nil, false
		}
		after, s = n, s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return nil, false
	}
	v := make([]int, 0, len(parts)+1)
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || (len(p) > 1 && p[0] == '0') {
			return nil, false
		}
		v = append(v, n)
	}
	for len(v) < 4 {
		v = append(v, 0)
	}
	return append(v, after), true
}

// CompareVersions compares two release versions: -1 when a is older than b, 0 when the same,
// +1 when newer. ok is false when either is not a release version (see parseVersion).
func CompareVersions(a, b string) (cmp int, ok bool) {
	va, oka := parseVersion(a)
	vb, okb := parseVersion(b)
	if !oka || !okb {
		return 0, false
	}
	for i := range va {
		switch {
		case va[i] < vb[i]:
			return -1, true
		case va[i] > vb[i]:
			return 1, true
		}
	}
	return 0, true
}

// newer reports whether an update to version next may replace running without force: a
// development build (running is not a release version) takes any version; a release takes
// only a newer release.
func newer(next, running string) bool {
	if _, ok := parseVersion(running); !ok {
		return next != running
	}
	c, ok := CompareVersions(next, running)
	return ok && c > 0
}
