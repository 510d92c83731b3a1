package benchproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

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

// ClockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's CPU
// times: 100 on every Linux architecture Go supports.
const ClockTicks = 100

// CPU reads the user and system CPU time pid has used so far, all its
// threads together (/proc/PID/stat utime + stime).
func CPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count the fields after its closing one.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / ClockTicks, nil
}
