package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
)

// Input is one source of request data: a --data value, or an -i value as
// rsocket-cli reads it ("-" for stdin, "@path" for a file, else the
// literal string).
type Input struct {
	// Data is the literal data, when Path is empty.
	Data string
	// Path, when not empty, names where the data is read: "-" is stdin,
	// anything else a file. A channel sends one payload per line of it;
	// the other interaction models send its whole content, less one
	// trailing newline.
	Path string
}

// parseInput reads an -i value.
func parseInput(s string) (Input, error) {
	switch {
	case s == "-":
		return Input{Path: "-"}, nil
	case strings.HasPrefix(s, "@"):
		if len(s) == 1 {
			return Input{}, errors.New("want a file name after @")
		}
		return Input{Path: s[1:]}, nil
	}
	return Input{Data: s}, nil
}

// inputFlag is the repeatable --data or -i flag. Both add to one list, so
// that "--data a -i @f --data b" sends a, the lines of f, then b.
type inputFlag struct {
	list *[]Input
	raw  bool // --data: the value is literal, even "-" or "@x"
}

func (f *inputFlag) String() string { return "" }

func (f *inputFlag) Set(s string) error {
	in := Input{Data: s}
	if !f.raw {
		var err error
		if in, err = parseInput(s); err != nil {
			return err
		}
	}
	*f.list = append(*f.list, in)
	return nil
}

// literal is a flag value of rsocket-cli's "string or @path" kind
// (--metadata, --setup): @path reads the file's content.
func literal(s string) ([]byte, error) {
	if p, ok := strings.CutPrefix(s, "@"); ok {
		if p == "" {
			return nil, usageErr("@: want a file name after @")
		}
		return os.ReadFile(p)
	}
	return []byte(s), nil
}

// whole returns the data of in: a single payload's worth. A file or stdin
// gives its whole content, less one trailing newline (what `echo x |`
// adds).
func (in Input) whole(stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	switch in.Path {
	case "":
		return []byte(in.Data), nil
	case "-":
		if stdin == nil {
			return nil, errors.New("-i -: no stdin")
		}
		b, err = io.ReadAll(stdin)
	default:
		b, err = os.ReadFile(in.Path)
	}
	if err != nil {
		return nil, err
	}
	return chomp(b), nil
}

// chomp removes one line ending, "\n" or "\r\n", from the end of b.
func chomp(b []byte) []byte {
	if c, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		return bytes.TrimSuffix(c, []byte("\r"))
	}
	return b
}

// lines sends the payload data of inputs on out, in order: a literal as
// one entry, a file or stdin as one entry per line (without its line
// ending), read as the channel consumes them. It stops when ctx is done.
// Each entry is a new slice: the receiver owns it.
func lines(ctx context.Context, inputs []Input, stdin io.Reader, out chan<- []byte) error {
	send := func(b []byte) error {
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, in := range inputs {
		if in.Path == "" {
			if err := send([]byte(in.Data)); err != nil {
				return err
			}
			continue
		}
		r := stdin
		if in.Path != "-" {
			f, err := os.Open(in.Path)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		} else if r == nil {
			return errors.New("-i -: no stdin")
		}
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				if serr := send(chomp(line)); serr != nil {
					return serr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
