//go:build linux

package update

import "golang.org/x/sys/unix"

// freeBytes returns the space free for this process on the file system that holds dir.
func freeBytes(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
