//go:build !linux

package rshmbench

import "runtime"

func kernel() string { return runtime.GOOS }
