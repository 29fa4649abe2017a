package benchkit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxSize bounds a payload: the raw baselines refuse larger frames and
// rsocket's default message limit is 16 MiB.
const MaxSize = 8 << 20

// maxConcurrency bounds a parsed case's goroutines.
const maxConcurrency = 4096

// ErrConfig reports a case, a transport, a model or a stream request (or a
// command line naming them) that cannot run. Its text is rshm bench's
// ("rshmbench: bad config"), whose configuration errors it reports too.
var ErrConfig = errors.New("rshmbench: bad config")

// FormatCases writes cases as ParseCases reads them: a comma-separated
// list of TRANSPORT/MODEL/SIZE/CONCURRENCY, e.g. "grpc-tcp/rr/64/1".
func FormatCases(cases []Case) string {
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s/%s/%d/%d", c.Transport, c.Model, c.Size, c.Concurrency)
	}
	return b.String()
}

// ParseCases reads a list written by FormatCases. Sizes are in bytes (1 to
// MaxSize), concurrencies 1 to 4096, and each case's model must be one its
// transport runs.
func ParseCases(s string) ([]Case, error) {
	var out []Case
	for f := range strings.SplitSeq(s, ",") {
		parts := strings.Split(strings.TrimSpace(f), "/")
		if len(parts) != 4 {
			return nil, fmt.Errorf("%w: case %q is not TRANSPORT/MODEL/SIZE/CONCURRENCY", ErrConfig, f)
		}
		t, err := ParseTransport(parts[0])
		if err != nil {
			return nil, err
		}
		m, err := ParseModel(parts[1])
		if err != nil {
			return nil, err
		}
		if !t.runs(m) {
			return nil, fmt.Errorf("%w: %v does not run %v", ErrConfig, t, m)
		}
		size, err := strconv.Atoi(parts[2])
		if err != nil || size < 1 || size > MaxSize {
			return nil, fmt.Errorf("%w: size %q is not a number of bytes in [1, %d]", ErrConfig, parts[2], MaxSize)
		}
		conc, err := strconv.Atoi(parts[3])
		if err != nil || conc < 1 || conc > maxConcurrency {
			return nil, fmt.Errorf("%w: concurrency %q is not in [1, %d]", ErrConfig, parts[3], maxConcurrency)
		}
		out = append(out, Case{Transport: t, Model: m, Size: size, Concurrency: conc})
	}
	return out, nil
}

// StreamRequest is the request data of a stream measurement: the server
// answers "size:N" with N-byte payloads, each stamped (Stamp), until the
// client cancels.
func StreamRequest(size int) []byte { return []byte("size:" + strconv.Itoa(size)) }

// ParseStreamRequest reads StreamRequest's data; the size is 0 to MaxSize.
func ParseStreamRequest(b []byte) (int, error) {
	s, ok := strings.CutPrefix(string(b), "size:")
	size, err := strconv.Atoi(s)
	if !ok || err != nil || size < 0 || size > MaxSize || strconv.Itoa(size) != s {
		return 0, fmt.Errorf("%w: stream request %q is not size:N", ErrConfig, b)
	}
	return size, nil
}
