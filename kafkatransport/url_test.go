package kafkatransport

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseURL(t *testing.T) {
	for i, tc := range []struct {
		in   string
		want URL
	}{
		{"kafka://localhost/orders", URL{Brokers: []string{"localhost:9092"}, Topic: "orders"}},
		{"kafka://a:1,b:29092/o.r-d_1", URL{Brokers: []string{"a:1", "b:29092"}, Topic: "o.r-d_1"}},
		{"kafka://[::1]:9093,[fe80::1]/t", URL{Brokers: []string{"[::1]:9093", "[fe80::1]:9092"}, Topic: "t"}},
		{"kafka://k/t?group=billing&reply=t.replies", URL{Brokers: []string{"k:9092"}, Topic: "t", Group: "billing", Reply: "t.replies"}},
		{"kafka://k/t?group=a%20b", URL{Brokers: []string{"k:9092"}, Topic: "t", Group: "a b"}},
	} {
		got, err := ParseURL(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%d: ParseURL(%q) = %+v, %v; want %+v", i, tc.in, got, err, tc.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for i, in := range []string{
		"", "tcp://a/t", "kafka://", "kafka://a", "kafka://a/", "kafka:///t", "kafka://a,/t",
		"kafka://a:0/t", "kafka://a:x/t", "kafka://a:70000/t", "kafka://::1/t", "kafka://a/t/u",
		"kafka://a/t?x=1", "kafka://a/t?group=", "kafka://a/t?group=a&group=b",
		"kafka://a/t?reply=bad/topic", "kafka://a/t?%zz", "kafka://a b/t", "kafka://a/" + string(make([]byte, 250)),
	} {
		if u, err := ParseURL(in); !errors.Is(err, ErrURL) {
			t.Errorf("%d: ParseURL(%q) = %+v, %v; want ErrURL", i, in, u, err)
		}
	}
}

// FuzzParseURL: no input panics, and a URL that parses formats to one that
// parses to the same.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"kafka://localhost/orders", "kafka://a:1,[::1]:2/t?group=g&reply=r", "kafka://a/t?group=%20"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		v, err := ParseURL(u.String())
		if err != nil || !reflect.DeepEqual(u, v) {
			t.Fatalf("ParseURL(%q) = %+v; its String %q parses to %+v, %v", s, u, u.String(), v, err)
		}
	})
}
