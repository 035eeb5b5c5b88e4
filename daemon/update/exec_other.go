//go:build !unix

package update

import "errors"

func execve(string, []string, []string) error {
	return errors.New("update: starting another program in place of this one needs a Unix system")
}
