//go:build linux

package diskguard

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// statfs measures the file system that holds dir.
func statfs(dir string) (usage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return usage{}, fmt.Errorf("diskguard: statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize)
	return usage{
		Free:     uint64(st.Bavail) * bs,
		Total:    uint64(st.Blocks) * bs,
		ReadOnly: st.Flags&unix.ST_RDONLY != 0,
	}, nil
}
