//go:build !race

package rsocket

const raceBuild = false
