package fxo

// SetBeforeATH0 makes every hang-up run f just before its ATH0, until the returned func
// restores the default.
func SetBeforeATH0(f func()) (restore func()) {
	old := beforeATH0
	beforeATH0 = f
	return func() { beforeATH0 = old }
}
