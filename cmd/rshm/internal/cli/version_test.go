package cli

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := Version(context.Background(), nil, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	line := out.String()
	if !strings.HasPrefix(line, "rshm ") || !strings.HasSuffix(line, " "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n") {
		t.Errorf("rshm version printed %q", line)
	}
	if err := Version(context.Background(), []string{"extra"}, nil, &out, &out); !errors.Is(err, ErrUsage) {
		t.Errorf("rshm version extra: %v; want ErrUsage", err)
	}
}

func TestVersionLine(t *testing.T) {
	goPlatform := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, tt := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{nil, false, "rshm (devel)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "rshm (devel)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, true, "rshm v1.2.3"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"},
		}}, true, "rshm (devel) rev 0123456789ab+dirty"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"},
		}}, true, "rshm v0.1.0 rev abc"},
	} {
		if got := versionLine(tt.bi, tt.ok); got != tt.want+goPlatform {
			t.Errorf("versionLine(%+v) = %q; want %q", tt.bi, got, tt.want+goPlatform)
		}
	}
}
