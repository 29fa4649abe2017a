package cli

import (
	"context"
	"encoding/json"
	"flag"
	"io"

	"github.com/rshm/rshm/cmd/rshm/internal/doctor"
)

// DoctorCommand is "rshm doctor".
var DoctorCommand = Command{
	Name:    "doctor",
	Usage:   "doctor [--clean] [--json] [--dir DIR]",
	Summary: "check this machine for what costs latency, with the fix for each",
	Run:     Doctor,
}

// Doctor implements "rshm doctor [--clean] [--json] [--dir DIR]": it reads
// the machine (package doctor) and prints what it found as text or, with
// --json, as one JSON object. --clean removes stale regions from DIR
// (default /dev/shm). It fails only when the machine cannot be read at all;
// warnings do not change the exit status.
func Doctor(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	clean := fs.Bool("clean", false, "remove stale rshm regions (creator dead) and list them")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	dir := fs.String("dir", "", "the `DIR` holding regions (default /dev/shm)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("doctor takes no arguments, got %q", pos)
	}
	rep, err := doctor.Run(doctor.Config{ShmDir: *dir, Clean: *clean})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(stdout)
}
