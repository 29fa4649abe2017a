package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// VersionCommand is "rshm version".
var VersionCommand = Command{
	Name:    "version",
	Usage:   "version",
	Summary: "print rshm's module version, the Go version and the platform",
	Run:     Version,
}

// Version implements "rshm version" (also "rshm --version"): one line
// with the module version of the binary ("(devel)" when built from a
// checkout rather than installed at a version), the VCS revision when the
// build recorded one, the Go version and the OS/architecture.
func Version(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("version takes no arguments, got %q", pos)
	}
	_, err = fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
	return err
}

// versionLine formats what the build recorded, as "go version" does:
// "rshm v1.2.3 go1.26.0 linux/amd64", with "rev 0123456789ab" (and
// "+dirty" for a modified checkout) before the Go version when known.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	version, rev, dirty := "(devel)", "", ""
	if ok {
		if v := bi.Main.Version; v != "" {
			version = v
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
	}
	line := "rshm " + version
	if rev != "" {
		line += " rev " + rev[:min(len(rev), 12)] + dirty
	}
	return line + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
