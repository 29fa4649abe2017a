package rshmbench

import (
	"fmt"
	"io"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// progress rewrites one status line on a terminal-ish writer (stderr):
// "\r" then the line padded over the previous one.
type progress struct {
	w     io.Writer
	total int
	start time.Time
	width int
}

func (p *progress) update(i int, c benchkit.Case, left time.Duration) {
	if p.w == nil {
		return
	}
	line := fmt.Sprintf("[%d/%d] %-44s elapsed %s, about %s left",
		i+1, p.total, c, time.Since(p.start).Round(time.Second), left.Round(time.Second))
	pad := max(p.width-len(line), 0)
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%*s", line, pad, "")
}

func (p *progress) end() {
	if p.w == nil || p.width == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%*s\r", p.width, "")
	p.width = 0
}
