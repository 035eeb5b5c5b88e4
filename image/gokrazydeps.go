//go:build gokrazydeps

package image

// The gokrazy image (gokrazy/hotline/config.json) is built from these modules at the versions
// in go.mod; importing them here, behind a tag no build sets, keeps them there. gokrazy's own
// programs (cmd/dhcp, cmd/ntp, cmd/randomd, cmd/heartbeat) are in the module of
// github.com/gokrazy/gokrazy.
import (
	_ "github.com/gokrazy/firmware"
	_ "github.com/gokrazy/gokrazy"
	_ "github.com/gokrazy/kernel.amd64"
	_ "github.com/gokrazy/kernel.rpi"
	_ "github.com/gokrazy/rpi-eeprom"
)
