package update

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// EnvSlot is set in the environment of a slot's binary that [Launch] started ("a" or "b"): the
// launcher then lets it run instead of starting a slot again.
const EnvSlot = "HOTLINE_UPDATE_SLOT"

// MaxTrialStarts is how many times an update on trial is started without reporting healthy
// before the box goes back. Two, so that a power cut in the first minutes of a good update does
// not undo it.
const MaxTrialStarts = 2

// Launch runs the binary of the active slot, or of the slot on trial, in place of this process
// (same PID and arguments; args are the arguments after the program's name, "run" first). It
// returns only when this process should go on as it is: it was started by Launch already, no
// update is installed, or the built-in binary must run; the error then says why a slot was not
// run (log it and go on: the built-in binary is always the last fallback). version is the
// version of this binary.
//
// An update on trial that was started [MaxTrialStarts] times without calling [MarkHealthy] is
// dropped here, and the next start runs the previous slot or the built-in binary; so is a slot
// whose file is damaged. A slot older than or as old as this binary (a newer .deb was installed
// over it) is left for this binary. Each such step is recorded for the admin ([ReadStatus]).
func Launch(dataDir, version string, args []string) error {
	if RunningSlot() != "" {
		return nil
	}
	st, err := readState(dataDir)
	if err != nil {
		return err
	}
	if st == (state{}) {
		return nil
	}
	var errs []error
	back := func(outcome, slotVersion, reason string) {
		backTo := version
		if st.Active != "" {
			if m, err := readManifest(slotPath(dataDir, st.Active)); err == nil {
				backTo = m.Version
			}
		}
		// The backup made before the update stays named, for the admin and for a restore.
		st.Last = &Result{Outcome: outcome, Version: slotVersion, From: st.TrialFrom, BackTo: backTo, Reason: reason,
			Time: now(), Backup: lastBackup(st)}
	}
	if st.Trial != "" {
		slot := st.Trial
		m, merr := readManifest(slotPath(dataDir, slot))
		if merr == nil {
			merr = checkFile(slotPath(dataDir, slot), m)
		}
		switch {
		case merr != nil:
			back(OutcomeRolledBack, m.Version, "the new program file is damaged: "+merr.Error())
			st.Trial, st.TrialStarts, st.TrialFrom = "", 0, ""
			errs = append(errs, merr)
		case st.TrialStarts >= MaxTrialStarts:
			back(OutcomeRolledBack, m.Version, fmt.Sprintf("it was started %d times and did not report healthy", st.TrialStarts))
			st.Trial, st.TrialStarts, st.TrialFrom = "", 0, ""
			errs = append(errs, fmt.Errorf("update: %s did not start; back to %s", m.Version, st.Last.BackTo))
		default:
			st.TrialStarts++
			if err := writeState(dataDir, st); err != nil {
				return err // not counted: do not run it
			}
			err := execSlot(slotPath(dataDir, slot), slot, args)
			// Still here: it could not be started.
			back(OutcomeRolledBack, m.Version, "the new program could not be started: "+err.Error())
			st.Trial, st.TrialStarts, st.TrialFrom = "", 0, ""
			errs = append(errs, err)
		}
		if err := writeState(dataDir, st); err != nil {
			errs = append(errs, err)
			return errors.Join(errs...)
		}
	}
	if st.Active == "" {
		return errors.Join(errs...)
	}
	slot := st.Active
	m, merr := readManifest(slotPath(dataDir, slot))
	if merr == nil {
		merr = checkFile(slotPath(dataDir, slot), m)
	}
	if merr == nil {
		if c, ok := CompareVersions(version, m.Version); ok && c >= 0 {
			st.Active = ""
			st.Last = &Result{Outcome: OutcomeDropped, Version: m.Version, BackTo: version, Time: now(),
				Reason: "the program installed with the system is as new or newer"}
			errs = append(errs, fmt.Errorf("update: slot %s holds %s, this binary is %s: running this one", slot, m.Version, version))
			if err := writeState(dataDir, st); err != nil {
				errs = append(errs, err)
			}
			return errors.Join(errs...)
		}
		merr = execSlot(slotPath(dataDir, slot), slot, args)
	}
	st.Active = ""
	st.Last = &Result{Outcome: OutcomeRolledBack, Version: m.Version, BackTo: version, Time: now(),
		Reason: "the installed update could not be started: " + merr.Error()}
	errs = append(errs, merr)
	if err := writeState(dataDir, st); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func lastBackup(st state) string {
	if st.Last != nil {
		return st.Last.Backup
	}
	return ""
}

// execSlot replaces this process with the binary at path; it returns only on failure.
func execSlot(path, slot string, args []string) error {
	env := append(os.Environ(), EnvSlot+"="+slot)
	argv := append([]string{path}, args...)
	return execve(path, argv, env)
}

func now() time.Time { return time.Now().UTC() }
