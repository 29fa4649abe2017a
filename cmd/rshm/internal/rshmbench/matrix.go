package rshmbench

import (
	"slices"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// Matrix lists the measurements of cfg, grouped by transport (one server
// each) in table order.
func Matrix(cfg *Config) []benchkit.Case {
	var out []benchkit.Case
	for _, t := range cfg.transports() {
		for _, m := range t.Models() {
			if cfg.Models != nil && !slices.Contains(cfg.Models, m) {
				continue
			}
			for _, conc := range cfg.concurrencies(m) {
				for _, size := range cfg.sizes() {
					out = append(out, benchkit.Case{Transport: t, Model: m, Size: size, Concurrency: conc})
				}
			}
		}
	}
	return out
}

// Estimate is how long cases take under cfg: each runs its warm-up and its
// window, plus perCaseOverhead for connections and the control round trips.
func Estimate(cfg *Config, cases int) time.Duration {
	const perCaseOverhead = 60 * time.Millisecond
	return time.Duration(cases) * (cfg.duration() + cfg.warmup() + perCaseOverhead)
}
