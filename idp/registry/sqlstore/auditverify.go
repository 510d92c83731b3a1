package sqlstore

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// The kinds of problem VerifyAudit reports.
const (
	ProblemChanged    = "changed"    // an event's content, or a checkpoint's, is not what was written
	ProblemRemoved    = "removed"    // events of these positions are missing
	ProblemInserted   = "inserted"   // an event that the chain never linked
	ProblemCheckpoint = "checkpoint" // a checkpoint whose signature does not verify
)

// AuditProblem is one finding of VerifyAudit: its kind, the positions in
// the chain it concerns (From..To, equal for one event), the row's id when
// the row exists, and what was found.
type AuditProblem struct {
	Kind     string `json:"kind"`
	From, To int64  `json:"-"`
	Seq      string `json:"seq"`
	ID       int64  `json:"id,omitempty"`
	Detail   string `json:"detail"`
}

func (p AuditProblem) String() string {
	s := p.Kind + " at seq " + p.Seq
	if p.Seq == "" {
		s = p.Kind + " with no position"
	}
	if p.ID != 0 {
		s += fmt.Sprintf(" (id %d)", p.ID)
	}
	return s + ": " + p.Detail
}

// AuditReport is the outcome of VerifyAudit.
type AuditReport struct {
	Events      int            `json:"events"`      // chained events checked
	Legacy      int            `json:"legacy"`      // events from before the chain, not checked
	Start       int64          `json:"start"`       // the position the chain starts after (retention's anchor)
	Head        int64          `json:"head"`        // the last position written
	Checkpoints int            `json:"checkpoints"` // checkpoints checked
	Problems    []AuditProblem `json:"problems"`
}

// OK says whether the audit trail is intact.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// storedCheckpoint is a row of audit_checkpoints.
type storedCheckpoint struct {
	id        int64
	kind      string
	seq       int64
	hash, sig string
	at        time.Time
}

// verifier walks the chain in order of position.
type verifier struct {
	r          *AuditReport
	legacyMax  int64
	lastSeq    int64
	lastHash   string
	lastID     int64
	wantHashes map[int64]string // position -> hash found, for the checkpoints
}

func (v *verifier) problem(kind string, from, to, id int64, detail string, args ...any) {
	seq := fmt.Sprint(from)
	if from == 0 {
		seq = ""
	} else if to != from {
		seq = fmt.Sprintf("%d-%d", from, to)
	}
	v.r.Problems = append(v.r.Problems, AuditProblem{Kind: kind, From: from, To: to, Seq: seq, ID: id, Detail: fmt.Sprintf(detail, args...)})
}

// VerifyAudit checks the audit trail: every event's hash over its content
// and the hash before it, the positions without gaps from retention's last
// anchor to the head, and each checkpoint's signature (with pub; nil skips
// the signatures) and hash. It reports every problem with its position.
func (d *DB) VerifyAudit(ctx context.Context, pub ed25519.PublicKey) (AuditReport, error) {
	var r AuditReport
	v := &verifier{r: &r, wantHashes: map[int64]string{}}
	var headHash string
	if err := d.rdb.QueryRowContext(ctx, "SELECT seq, hash, legacy_max_id FROM audit_chain WHERE id = 1").Scan(&r.Head, &headHash, &v.legacyMax); err != nil {
		return r, fmt.Errorf("registry: verify audit: chain head: %w", err)
	}
	cps, err := d.checkpoints(ctx)
	if err != nil {
		return r, fmt.Errorf("registry: verify audit: %w", err)
	}
	v.checkSignatures(cps, pub)
	v.lastSeq, v.lastHash = r.Start, v.anchorHash(cps)
	if err := d.walkChain(ctx, v); err != nil {
		return r, fmt.Errorf("registry: verify audit: %w", err)
	}
	v.finish(headHash, cps)
	return r, nil
}

// checkpoints reads audit_checkpoints in the order written.
func (d *DB) checkpoints(ctx context.Context) ([]storedCheckpoint, error) {
	rows, err := d.rdb.QueryContext(ctx, "SELECT id, kind, seq, hash, at, signature FROM audit_checkpoints ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	var out []storedCheckpoint
	for rows.Next() {
		var c storedCheckpoint
		if err := rows.Scan(&c.id, &c.kind, &c.seq, &c.hash, dbTime{&c.at}, &c.sig); err != nil {
			return nil, fmt.Errorf("checkpoints: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// checkSignatures reports each checkpoint pub does not verify, and drops
// it from cps' later use by blanking its kind.
func (v *verifier) checkSignatures(cps []storedCheckpoint, pub ed25519.PublicKey) {
	for i := range cps {
		c := &cps[i]
		if pub == nil {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(c.sig)
		if err != nil || !ed25519.Verify(pub, checkpointMessage(c.kind, c.seq, c.hash, c.at), sig) {
			v.problem(ProblemCheckpoint, c.seq, c.seq, 0, "%s %d: signature missing or invalid: its content was changed or it was not written by cnsgate", c.kind, c.id)
			c.kind = ""
		}
	}
}

// anchorHash sets the start at retention's last anchor and returns the
// hash the first remaining event links to.
func (v *verifier) anchorHash(cps []storedCheckpoint) string {
	hash := ""
	for _, c := range cps {
		if c.kind == checkpointPurge && c.seq > v.r.Start {
			v.r.Start, hash = c.seq, c.hash
		}
	}
	for _, c := range cps {
		if c.kind == checkpointPeriodic && c.seq > v.r.Start {
			v.wantHashes[c.seq] = ""
			v.r.Checkpoints++
		}
	}
	return hash
}

// walkChain reads the events in order of position and checks each.
func (d *DB) walkChain(ctx context.Context, v *verifier) error {
	rows, err := d.rdb.QueryContext(ctx, "SELECT "+auditColumns+", seq, prev_hash, hash FROM audit_events ORDER BY seq, id")
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e registry.Event
		var detail, prev, hash string
		var seq int64
		if err := rows.Scan(&e.ID, dbTime{&e.At}, &e.Kind, &e.Outcome, &e.Reason, &e.FiscalCode, &e.Client,
			&e.SessionHash, &e.CardSerial, &e.Issuer, &e.RemoteIP, &e.RequestID, &detail, &seq, &prev, &hash); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		e.Detail = json.RawMessage(detail)
		v.event(&e, seq, prev, hash)
	}
	return rows.Err()
}

// event checks one event against the one before it in the chain.
func (v *verifier) event(e *registry.Event, seq int64, prev, hash string) {
	switch {
	case seq == 0 && e.ID <= v.legacyMax:
		v.r.Legacy++
		return
	case seq == 0:
		v.problem(ProblemInserted, 0, 0, e.ID, "an event with no place in the chain (written around cnsgate)")
		return
	case seq <= v.lastSeq:
		v.problem(ProblemInserted, seq, seq, e.ID, "a second event at a position already taken, or already deleted by retention")
		return
	}
	v.r.Events++
	if seq > v.lastSeq+1 {
		v.problem(ProblemRemoved, v.lastSeq+1, seq-1, 0, "%d event(s) missing before id %d", seq-1-v.lastSeq, e.ID)
	} else if prev != v.lastHash && v.lastSeq > v.r.Start {
		v.problem(ProblemChanged, v.lastSeq, v.lastSeq, v.lastID, "its hash is not the one the next event (seq %d) was linked to: changed and rehashed", seq)
	} else if prev != v.lastHash {
		v.problem(ProblemChanged, seq, seq, e.ID, "its link to the chain's start does not match retention's anchor")
	}
	if chainHash(seq, prev, chainFields(e)) != hash {
		v.problem(ProblemChanged, seq, seq, e.ID, "its content does not match its hash")
	}
	if _, ok := v.wantHashes[seq]; ok {
		v.wantHashes[seq] = hash
	}
	v.lastSeq, v.lastHash, v.lastID = seq, hash, e.ID
}

// finish compares the end of the walk with the head and the checkpoints.
func (v *verifier) finish(headHash string, cps []storedCheckpoint) {
	if v.r.Head > v.lastSeq {
		v.problem(ProblemRemoved, v.lastSeq+1, v.r.Head, 0, "%d event(s) missing at the end of the chain", v.r.Head-v.lastSeq)
	} else if v.lastSeq > v.r.Start && (v.r.Head != v.lastSeq || headHash != v.lastHash) {
		v.problem(ProblemChanged, v.r.Head, v.r.Head, 0, "the chain's head (seq %d) does not match its last event (seq %d)", v.r.Head, v.lastSeq)
	}
	for _, c := range cps {
		if c.kind != checkpointPeriodic || c.seq <= v.r.Start {
			continue
		}
		got := v.wantHashes[c.seq]
		switch {
		case c.seq > v.lastSeq && c.seq > v.r.Head:
			v.problem(ProblemRemoved, v.lastSeq+1, c.seq, 0, "checkpoint %d signed the chain up to seq %d", c.id, c.seq)
		case got != "" && got != c.hash:
			v.problem(ProblemChanged, c.seq, c.seq, 0, "checkpoint %d signed another hash here: the chain up to this position was rewritten", c.id)
		}
	}
}
