package rsocket_test

import (
	"fmt"
	"testing"

	"github.com/rshm/rshm/rsocket"
)

// TestErrorText: an *Error names a code the spec defines and prints any
// other in hex, and says "rsocket: " once.
func TestErrorText(t *testing.T) {
	for i, tt := range []struct {
		err  *rsocket.Error
		want string
	}{
		{&rsocket.Error{Code: rsocket.CodeApplicationError, Message: "boom"}, "rsocket: APPLICATION_ERROR (0x201): boom"},
		{&rsocket.Error{Code: 0x301, Message: "out of stock"}, "rsocket: 0x301: out of stock"},
		{&rsocket.Error{Code: 0xFFFFFFFE}, "rsocket: 0xfffffffe"},
		{&rsocket.Error{Code: rsocket.CodeApplicationError, Message: rsocket.ErrClosed.Error()}, "rsocket: APPLICATION_ERROR (0x201): connection closed"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%d: %q; want %q", i, got, tt.want)
		}
	}
	if got := fmt.Sprint(rsocket.ErrorCode(0x301), " ", rsocket.CodeRejected); got != "0x301 REJECTED" {
		t.Errorf("codes print as %q; want 0x301 REJECTED", got)
	}
}
