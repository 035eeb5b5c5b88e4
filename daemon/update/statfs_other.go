//go:build !linux

package update

// freeBytes is not measured off Linux: the update is tried and a full disk fails the write.
func freeBytes(string) (uint64, bool) { return 0, false }
