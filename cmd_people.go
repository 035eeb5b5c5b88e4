package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/voice/ivr"
)

const operatorUsage = `usage:
  hotline operator add --data DIR --name NAME [--sip-user U --sip-password P] [--mobile NUMBER] [--away]
  hotline operator list --data DIR
  hotline operator remove --data DIR --name NAME`

// cmdOperator manages operators in the store; a running box sees the change at its next call.
func cmdOperator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{operatorUsage}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("operator "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./var", "data folder of the hotline")
	var name, sipUser, sipPassword, mobile *string
	var away *bool
	switch sub {
	case "add":
		name = fs.String("name", "", "the operator's name, as the owner and the call log show it")
		sipUser = fs.String("sip-user", "", "user name of the operator's SIP phone")
		sipPassword = fs.String("sip-password", "", "password of the operator's SIP phone (at least 8 characters)")
		mobile = fs.String("mobile", "", "the operator's mobile number, which the box calls on another line")
		away = fs.Bool("away", false, "add the operator logged out")
	case "remove":
		name = fs.String("name", "", "the operator to remove")
	case "list":
	default:
		return usageError{fmt.Sprintf("hotline operator: unknown command %q\n\n%s", sub, operatorUsage)}
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{operatorUsage}
	}
	st, err := store.Open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add":
		o := store.Operator{Name: *name, SIPUser: *sipUser, SIPPassword: *sipPassword, Mobile: *mobile, Available: !*away}
		if _, err := st.AddOperator(ctx, o); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("operator add: the name or SIP user is taken")
			}
			return fmt.Errorf("operator add: %w", err)
		}
		_ = st.Audit(ctx, "owner", "operator added", *name+" (from the command line)")
		fmt.Fprintf(stdout, "Operator %q added.\n", *name)
	case "remove":
		if err := st.DeleteOperator(ctx, *name); err != nil {
			return fmt.Errorf("operator remove: %w", err)
		}
		_ = st.Audit(ctx, "owner", "operator removed", *name+" (from the command line)")
		fmt.Fprintf(stdout, "Operator %q removed.\n", *name)
	case "list":
		ops, err := st.Operators(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSIP USER\tMOBILE\tAVAILABLE\tLAST CALLED")
		for _, o := range ops {
			last := "-"
			if !o.LastCalled.IsZero() {
				last = o.LastCalled.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", o.Name, dash(o.SIPUser), dash(o.Mobile), o.Available, last)
		}
		return tw.Flush()
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

const flowUsage = `usage:
  hotline flow export --data DIR [--version N] FILE.json   (FILE "-" is standard output)
  hotline flow import --data DIR FILE.json`

// cmdFlow exports and imports the call flow; an import is linted like a save from the web
// admin and becomes the newest version.
func cmdFlow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{flowUsage}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("flow "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./var", "data folder of the hotline")
	version := fs.Int64("version", 0, "the version to export (0: the newest)")
	if sub != "export" && sub != "import" {
		return usageError{fmt.Sprintf("hotline flow: unknown command %q\n\n%s", sub, flowUsage)}
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{flowUsage}
	}
	file := fs.Arg(0)
	st, err := store.Open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "export" {
		fv, err := st.Flow(ctx, *version)
		if errors.Is(err, store.ErrNotFound) {
			return errors.New("flow export: no such flow version (a box that never ran has none yet)")
		}
		if err != nil {
			return err
		}
		if file == "-" {
			_, err = stdout.Write(fv.JSON)
			return err
		}
		if err := os.WriteFile(file, fv.JSON, 0o644); err != nil {
			return fmt.Errorf("flow export: %w", err)
		}
		fmt.Fprintf(stdout, "Flow version %d written to %s.\n", fv.Version, file)
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("flow import: %w", err)
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return fmt.Errorf("flow import: %w", err)
	}
	v, problems, err := daemon.SaveFlow(ctx, st, body, "owner", "imported from "+file)
	for _, p := range problems {
		word := "warning"
		if p.Severity == ivr.SeverityError {
			word = "error"
		}
		fmt.Fprintf(stderr, "%s: %s\n", word, p.Message("en"))
	}
	if err != nil {
		return fmt.Errorf("flow import: %w", err)
	}
	fmt.Fprintf(stdout, "Flow imported as version %d.\n", v)
	return nil
}
