package rshmbench

import (
	"slices"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

// Matrix lists the measurements of cfg in table order: by model,
// concurrency and size, and within each the transports one after the
// other, so that the rows a ratio compares are measured seconds apart, in
// the same phase of a VM whose speed drifts (docs/benchmarks.md).
func Matrix(cfg *Config) []benchkit.Case {
	var out []benchkit.Case
	for _, m := range benchkit.Models() {
		if cfg.Models != nil && !slices.Contains(cfg.Models, m) {
			continue
		}
		for _, conc := range cfg.concurrencies(m) {
			for _, size := range cfg.sizes() {
				for _, t := range cfg.transports() {
					if slices.Contains(t.Models(), m) && cfg.measures(t, size, conc) {
						out = append(out, benchkit.Case{Transport: t, Model: m, Size: size, Concurrency: conc})
					}
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
