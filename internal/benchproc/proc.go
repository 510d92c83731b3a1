package benchproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cnsgate/cnsgate/internal/freeport"
)

// Status reads the figures of /proc/PID/status given in kB (VmRSS, VmHWM,
// RssAnon...), in bytes.
func Status(pid int) (map[string]int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(raw), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || !strings.HasSuffix(val, " kB") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = kb << 10
	}
	return out, nil
}

// Memory reads the resident (VmRSS) and peak resident (VmHWM) memory of
// pid, in bytes.
func Memory(pid int) (rss, hwm int64, err error) {
	v, err := Status(pid)
	return v["VmRSS"], v["VmHWM"], err
}

// MiB converts bytes to mebibytes, for reports.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }

// FreeAddr returns a loopback address with a port nobody listens on now.
func FreeAddr() (string, error) {
	return freeport.Addr()
}
