//go:build !linux

package diskguard

import "errors"

// statfs is only implemented on Linux, where the box runs; elsewhere the guard reports the
// disk as unknown and lets recording go on.
func statfs(dir string) (usage, error) {
	return usage{}, errors.New("diskguard: free space is only measured on Linux")
}
