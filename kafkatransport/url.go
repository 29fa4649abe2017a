package kafkatransport

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Scheme is the URL scheme of a Kafka address.
const Scheme = "kafka"

// DefaultPort is the port of a broker given without one.
const DefaultPort = "9092"

// ErrURL is matched (errors.Is) by every error of ParseURL.
var ErrURL = errors.New("kafkatransport: bad kafka URL")

// URL is a parsed Kafka address:
//
//	kafka://BROKER[,BROKER...]/TOPIC[?group=GROUP][&reply=TOPIC]
//
// A BROKER is HOST[:PORT] (port DefaultPort when left out; an IPv6 host in
// brackets); TOPIC is the responder's request topic. The query sets
// Config fields: group is Config.Group (responders), reply is
// Config.ReplyTopic (requesters).
type URL struct {
	Brokers []string // HOST:PORT each
	Topic   string
	Group   string
	Reply   string
}

// ParseURL parses a kafka:// address.
func ParseURL(s string) (URL, error) {
	var u URL
	rest, ok := strings.CutPrefix(s, Scheme+"://")
	if !ok {
		return u, fmt.Errorf("%w %q: want %s://BROKERS/TOPIC", ErrURL, s, Scheme)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, topic, ok := strings.Cut(rest, "/")
	if !ok || topic == "" {
		return u, fmt.Errorf("%w %q: no topic", ErrURL, s)
	}
	if !validTopic(topic) {
		return u, fmt.Errorf("%w %q: topic %q is not a Kafka topic name (1 to %d of a-z A-Z 0-9 . _ -)", ErrURL, s, topic, maxTopicLen)
	}
	u.Topic = topic
	for h := range strings.SplitSeq(hosts, ",") {
		b, err := broker(h)
		if err != nil {
			return URL{}, fmt.Errorf("%w %q: %v", ErrURL, s, err)
		}
		u.Brokers = append(u.Brokers, b)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return URL{}, fmt.Errorf("%w %q: %v", ErrURL, s, err)
	}
	for k, v := range q {
		if len(v) != 1 {
			return URL{}, fmt.Errorf("%w %q: %s given %d times", ErrURL, s, k, len(v))
		}
		switch k {
		case "group":
			if v[0] == "" || strings.ContainsFunc(v[0], isControl) {
				return URL{}, fmt.Errorf("%w %q: empty or unprintable group", ErrURL, s)
			}
			u.Group = v[0]
		case "reply":
			if !validTopic(v[0]) {
				return URL{}, fmt.Errorf("%w %q: reply topic %q is not a Kafka topic name", ErrURL, s, v[0])
			}
			u.Reply = v[0]
		default:
			return URL{}, fmt.Errorf("%w %q: unknown parameter %q (want group or reply)", ErrURL, s, k)
		}
	}
	return u, nil
}

// broker checks one HOST[:PORT] and adds the default port.
func broker(h string) (string, error) {
	if h == "" {
		return "", errors.New("empty broker")
	}
	host, port := h, DefaultPort
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		var err error
		if strings.HasPrefix(h, "[") && !strings.Contains(h, "]:") {
			host = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		} else if host, port, err = net.SplitHostPort(h); err != nil {
			return "", err
		}
	} else if strings.Contains(h, ":") {
		return "", fmt.Errorf("broker %q: an IPv6 host goes in brackets", h)
	}
	if host == "" || strings.ContainsAny(host, "/?#@[] ") || strings.ContainsFunc(host, isControl) {
		return "", fmt.Errorf("broker %q: bad host", h)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("broker %q: bad port", h)
	}
	return net.JoinHostPort(host, port), nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7F }

// String formats u as ParseURL reads it.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString(Scheme + "://")
	b.WriteString(strings.Join(u.Brokers, ","))
	b.WriteString("/" + u.Topic)
	q := url.Values{}
	if u.Group != "" {
		q.Set("group", u.Group)
	}
	if u.Reply != "" {
		q.Set("reply", u.Reply)
	}
	if len(q) > 0 {
		b.WriteString("?" + q.Encode())
	}
	return b.String()
}

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// validTopic reports whether s is a legal Kafka topic name.
func validTopic(s string) bool {
	if s == "" || len(s) > maxTopicLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
