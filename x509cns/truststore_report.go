package x509cns

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LoadReport says what a load (a PEM directory or a TSL) found: what was
// seen, what was stored, what is usable now, and why each of the others
// was not. It is meant for logs and for a CLI (JSON tags are stable).
type LoadReport struct {
	Kind   string    `json:"kind"`   // "pem_dir", "tsl" or "intermediate_dir"
	Source string    `json:"source"` // the directory, or "TSL"
	At     time.Time `json:"at"`     // the time "now" of the classification

	Files           int              `json:"files,omitempty"`            // pem_dir: certificate files seen
	Services        int              `json:"services,omitempty"`         // tsl: TSPService elements seen
	ServicesKept    int              `json:"services_kept,omitempty"`    // tsl: services whose certificates were loaded
	SkippedServices []SkippedService `json:"skipped_services,omitempty"` // tsl: the others, with the reason
	SignatureOK     bool             `json:"signature_ok"`               // tsl: the signature was verified
	Signer          string           `json:"signer,omitempty"`           // tsl: subject of the configured signer
	Scheme          *TSLScheme       `json:"scheme,omitempty"`           // tsl: sequence number, issue and next-update times

	Certificates int `json:"certificates"` // candidate certificates seen (parsed or not)
	Loaded       int `json:"loaded"`       // stored in the TrustStore (usable, expired, not yet valid)
	Usable       int `json:"usable"`       // usable as anchors now
	UsableCNS    int `json:"usable_cns"`   // of those, how many look like CNS/CIE authentication CAs
	Repaired     int `json:"repaired"`     // parsed only after repairing a non-DER encoding

	Entries []AddResult `json:"entries"` // one per candidate certificate
	// Intermediates are the TSL certificates routed to the intermediate
	// pool (TSLOptions.Intermediates), not counted above.
	Intermediates []AddResult `json:"intermediates,omitempty"`
	Notes         []string    `json:"notes,omitempty"`
}

// SkippedService is a TSL service whose certificates were not loaded.
type SkippedService struct {
	TSP    string `json:"tsp"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Reason string `json:"reason"` // "service_type", "withdrawn" or "no_certificate"
}

func (r *LoadReport) record(res AddResult) {
	r.Certificates++
	r.Entries = append(r.Entries, res)
	if res.Repaired {
		r.Repaired++
	}
	if res.Status.Stored() {
		r.Loaded++
	}
	if res.Status == StatusUsable {
		r.Usable++
		if res.LooksCNS {
			r.UsableCNS++
		}
	}
}

// Counts returns how many entries have each status.
func (r *LoadReport) Counts() map[CertStatus]int {
	m := make(map[CertStatus]int)
	for _, e := range r.Entries {
		m[e.Status]++
	}
	return m
}

var statusLabels = map[CertStatus]string{
	StatusExpired:        "expired",
	StatusNotYetValid:    "not yet valid",
	StatusNotCA:          "not CA",
	StatusNoCertSign:     "without keyCertSign",
	StatusUnsupportedKey: "with an unsupported key",
	StatusDuplicate:      "duplicate",
	StatusMalformed:      "malformed",
}

// Summary is a one-line account of the load, e.g. "358 certificates in 358
// files: 217 usable anchors now (98 look like CNS/CIE authentication CAs,
// 119 do not), 141 expired; 358 stored; 2 parsed after repairing a non-DER
// encoding".
func (r *LoadReport) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d certificates", r.Certificates)
	switch r.Kind {
	case "tsl":
		fmt.Fprintf(&b, " from %d of %d services", r.ServicesKept, r.Services)
	default:
		fmt.Fprintf(&b, " in %d files", r.Files)
	}
	what := "anchors"
	if r.Kind == "intermediate_dir" {
		what = "intermediates (not anchors)"
	}
	fmt.Fprintf(&b, ": %d usable %s now (%d look like CNS/CIE authentication CAs, %d do not)",
		r.Usable, what, r.UsableCNS, r.Usable-r.UsableCNS)
	counts := r.Counts()
	for _, st := range CertStatuses() {
		if n := counts[st]; n > 0 && st != StatusUsable {
			fmt.Fprintf(&b, ", %d %s", n, statusLabels[st])
		}
	}
	fmt.Fprintf(&b, "; %d stored", r.Loaded)
	if len(r.Intermediates) > 0 {
		fmt.Fprintf(&b, "; %d sub-CAs of listed roots kept as intermediates", len(r.Intermediates))
	}
	if r.Repaired > 0 {
		fmt.Fprintf(&b, "; %d parsed after repairing a non-DER encoding", r.Repaired)
	}
	if len(r.SkippedServices) > 0 {
		why := make(map[string]int)
		var order []string
		for _, s := range r.SkippedServices {
			if why[s.Reason] == 0 {
				order = append(order, s.Reason)
			}
			why[s.Reason]++
		}
		b.WriteString("; services skipped:")
		for i, k := range order {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " %d %s", why[k], k)
		}
	}
	if r.Kind == "tsl" {
		if r.SignatureOK {
			fmt.Fprintf(&b, "; signature verified (%s)", r.Signer)
		} else {
			b.WriteString("; signature NOT checked")
		}
	}
	return b.String()
}

// maxCertFileSize bounds one file of a PEM directory.
const maxCertFileSize = 16 << 20

// LoadPEMDir adds every *.pem, *.crt and *.cer file of dir (not its
// subdirectories): PEM with one or more CERTIFICATE blocks, or a single DER
// certificate. A file or block that does not parse is reported as
// malformed and the load goes on. The error is only for a directory that
// cannot be read. Every valid CA is stored, CNS-looking or not: the
// operator chose the directory; the report says which look like CNS CAs.
func (s *TrustStore) LoadPEMDir(dir string) (*LoadReport, error) {
	rep := &LoadReport{Kind: "pem_dir", Source: dir, At: s.now()}
	if err := loadCertDir(dir, rep, s.add); err != nil {
		return nil, fmt.Errorf("x509cns: trust directory: %w", err)
	}
	return rep, nil
}

// loadCertDir parses the certificate files of dir (see LoadPEMDir) and
// records in rep what add made of each certificate.
func loadCertDir(dir string, rep *LoadReport, add func(*x509.Certificate, AddResult) AddResult) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents { // sorted by name: a deterministic load order
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".pem", ".crt", ".cer":
		default:
			continue
		}
		path := filepath.Join(dir, e.Name())
		if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() {
			continue // a directory named *.pem, a device...
		}
		rep.Files++
		data, err := readLimited(path, maxCertFileSize)
		if err != nil {
			rep.record(AddResult{Source: path, Status: StatusMalformed, Detail: err.Error()})
			continue
		}
		for _, it := range splitCertFile(data) {
			src := path
			if it.index > 0 {
				src = fmt.Sprintf("%s#%d", path, it.index)
			}
			rep.record(addDER(it.der, it.err, AddResult{Source: src}, add))
		}
	}
	return nil
}

// addDER parses der leniently and hands it to add; a parse error (or
// decodeErr from the container) makes a malformed entry.
func addDER(der []byte, decodeErr error, meta AddResult, add func(*x509.Certificate, AddResult) AddResult) AddResult {
	if decodeErr != nil {
		meta.Status, meta.Detail = StatusMalformed, decodeErr.Error()
		return meta
	}
	cert, note, err := parseAnchorDER(der)
	if err != nil {
		meta.Status, meta.Detail = StatusMalformed, err.Error()
		return meta
	}
	if note != "" {
		meta.Repaired, meta.Detail = true, note
	}
	return add(cert, meta)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

type certItem struct {
	index int // 1-based PEM block number when the file has several, else 0
	der   []byte
	err   error
}

// splitCertFile returns the certificates of a PEM or DER file.
func splitCertFile(data []byte) []certItem {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		return []certItem{{der: data}}
	}
	var items []certItem
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		it := certItem{index: n, der: blk.Bytes}
		if blk.Type != "CERTIFICATE" {
			it.err = fmt.Errorf("PEM block %q is not a CERTIFICATE", blk.Type)
		}
		items = append(items, it)
	}
	switch len(items) {
	case 0:
		return []certItem{{err: errors.New("no valid PEM block")}}
	case 1:
		items[0].index = 0
	}
	return items
}
