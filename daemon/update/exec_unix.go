//go:build unix

package update

import (
	"fmt"
	"syscall"
)

func execve(path string, argv, env []string) error {
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("update: start %s: %w", path, err)
	}
	return nil
}
