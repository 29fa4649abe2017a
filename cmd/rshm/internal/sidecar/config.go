package sidecar

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Config is the sidecar's configuration file, JSON that a user writes by
// hand:
//
//	{
//	  "listen": "127.0.0.1:7878",
//	  "shm_dir": "/run/rshm", "shm_group": "2000",
//	  "admin": "127.0.0.1:7879",
//	  "upstreams": {
//	    "orders": {"addrs": ["10.0.0.5:7000", "10.0.0.6:7000"], "resume": true},
//	    "users":  {"addrs": ["10.0.0.7:7000"]}
//	  },
//	  "routes": {"orders.*": "orders", "users.get": "users", "*": "users"}
//	}
//
// A request goes to the upstream of its route: an exact entry first, then
// the longest pattern ending in ".*" or "*" that the route starts with
// (without the star); a request without a route matches "*" only.
// Upstream addresses are dialed over TCP (they are remote); "balance"
// picks the strategy of a group of several ("p2c", the default, or
// "round-robin"); "resume" makes the upstream sessions resumable.
type Config struct {
	Listen    string              `json:"listen"`
	SHMDir    string              `json:"shm_dir,omitempty"`
	SHMGroup  string              `json:"shm_group,omitempty"`
	Admin     string              `json:"admin,omitempty"`
	Upstreams map[string]Upstream `json:"upstreams"`
	Routes    map[string]string   `json:"routes"`
}

// Upstream is a group of instances of one service.
type Upstream struct {
	Addrs   []string `json:"addrs"`
	Balance string   `json:"balance,omitempty"`
	Resume  bool     `json:"resume,omitempty"`
}

// Load reads and checks the configuration file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse reads and checks a configuration.
func Parse(b []byte) (*Config, error) {
	var c Config
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("sidecar config: %w", err)
	}
	return &c, c.check()
}

func (c *Config) check() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen: missing"))
	}
	if len(c.Upstreams) == 0 {
		errs = append(errs, errors.New("upstreams: none"))
	}
	for name, u := range c.Upstreams {
		if len(u.Addrs) == 0 {
			errs = append(errs, fmt.Errorf("upstream %q: no addrs", name))
		}
		switch u.Balance {
		case "", "p2c", "round-robin":
		default:
			errs = append(errs, fmt.Errorf("upstream %q: balance %q: want p2c or round-robin", name, u.Balance))
		}
	}
	for pattern, name := range c.Routes {
		if _, ok := c.Upstreams[name]; !ok {
			errs = append(errs, fmt.Errorf("route %q: no upstream %q", pattern, name))
		}
		if i := strings.IndexByte(pattern, '*'); i >= 0 && i != len(pattern)-1 {
			errs = append(errs, fmt.Errorf("route %q: a star may only end a pattern", pattern))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sidecar config: %w", err)
	}
	return nil
}

// table maps routes to upstream names as Config.Routes says.
type table struct {
	exact    map[string]string
	prefixes []prefix // longest first
}

type prefix struct{ p, name string }

func newTable(routes map[string]string) *table {
	t := &table{exact: map[string]string{}}
	for pattern, name := range routes {
		if p, ok := strings.CutSuffix(pattern, "*"); ok {
			t.prefixes = append(t.prefixes, prefix{p, name})
		} else {
			t.exact[pattern] = name
		}
	}
	slices.SortFunc(t.prefixes, func(a, b prefix) int { return len(b.p) - len(a.p) })
	return t
}

// lookup returns the upstream name of route, "" when none matches.
func (t *table) lookup(route string) string {
	if name, ok := t.exact[route]; ok && route != "" {
		return name
	}
	for _, p := range t.prefixes {
		if strings.HasPrefix(route, p.p) && (route != "" || p.p == "") {
			return p.name
		}
	}
	return ""
}
