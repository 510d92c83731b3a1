package redisstore

import (
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
)

// replyError is a Redis error reply, as go-redis returns it.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

func TestTopologyError(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"reload/refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reload/eof", io.EOF, true},
		{"reload/timeout", fmt.Errorf("read: %w", context.DeadlineExceeded), true},
		{"reload/clusterdown", replyError("CLUSTERDOWN The cluster is down"), true},
		{"reload/tryagain", replyError("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{"reload/moved", replyError("MOVED 3999 127.0.0.1:6381"), true},
		{"reload/readonly", replyError("READONLY You can't write against a read only replica."), true},
		{"keep/nil", nil, false},
		{"keep/redis-nil", redis.Nil, false},
		{"keep/canceled", context.Canceled, false},
		{"keep/script-error", replyError("ERR Error running script"), false},
		{"keep/wrongtype", replyError("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := topologyError(c.err); got != c.want {
				t.Fatalf("topologyError(%v) = %t, want %t", c.err, got, c.want)
			}
		})
	}
	var _ redis.Error = replyError("")
}
