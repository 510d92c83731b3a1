package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// Checkpoints pin the audit chain: each records a position and the hash of
// the event there, signed with the Ed25519 key of audit.checkpoint_key_file.
// Whoever can rewrite the database can recompute every hash of the chain,
// but cannot sign: VerifyAudit checks each checkpoint's signature and that
// the event at its position still has its hash. Retention leaves a
// checkpoint of kind purge at the last event it deleted, where the chain
// starts again.

// The kinds of audit_checkpoints rows.
const (
	checkpointPeriodic = "checkpoint"
	checkpointPurge    = "purge"
)

// WithCheckpointKey signs checkpoints and retention's anchors with key.
func WithCheckpointKey(key ed25519.PrivateKey) Option { return func(d *DB) { d.cpKey = key } }

// LoadCheckpointKey reads an Ed25519 private key, PEM "PRIVATE KEY"
// (PKCS #8, as `openssl genpkey -algorithm ed25519` writes it), through
// the PEM reading every package shares (x509cns/pemfile).
func LoadCheckpointKey(path string) (ed25519.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint key: %w", err)
	}
	k, err := pemfile.PrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit checkpoint key %s: a %T, not an Ed25519 key", path, k)
	}
	return ek, nil
}

// checkpointMessage is what a checkpoint's signature covers.
func checkpointMessage(kind string, seq int64, hash string, at time.Time) []byte {
	return []byte("cnsgate audit checkpoint v1\n" + kind + "\n" + strconv.FormatInt(seq, 10) + "\n" + hash + "\n" +
		at.UTC().Truncate(time.Microsecond).Format(chainTime))
}

// insertCheckpoint records kind at seq with hash in tx, signed when a key
// is set.
func (d *DB) insertCheckpoint(ctx context.Context, tx *sql.Tx, kind string, seq int64, hash string) error {
	at := d.now().UTC().Truncate(time.Microsecond)
	sig := ""
	if d.cpKey != nil {
		sig = base64.StdEncoding.EncodeToString(ed25519.Sign(d.cpKey, checkpointMessage(kind, seq, hash, at)))
	}
	_, err := tx.ExecContext(ctx, d.q("INSERT INTO audit_checkpoints (kind, seq, hash, at, signature) VALUES (?, ?, ?, ?, ?)"),
		kind, seq, hash, d.ts(at), sig)
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	return nil
}

// ErrNoCheckpointKey is returned by Checkpoint without a key.
var ErrNoCheckpointKey = errors.New("registry: no audit checkpoint key")

// Checkpoint signs the chain's head, unless the last checkpoint already
// holds it; it returns the position signed (0: nothing new).
func (d *DB) Checkpoint(ctx context.Context) (int64, error) {
	if d.cpKey == nil {
		return 0, ErrNoCheckpointKey
	}
	var signed int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		seq, hash, err := d.chainHead(ctx, tx)
		if err != nil || seq == 0 {
			return err
		}
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, d.q("SELECT MAX(seq) FROM audit_checkpoints WHERE kind = ?"), checkpointPeriodic).Scan(&last); err != nil {
			return err
		}
		if last.Valid && last.Int64 >= seq {
			return nil
		}
		signed = seq
		return d.insertCheckpoint(ctx, tx, checkpointPeriodic, seq, hash)
	})
	if err != nil {
		return 0, fmt.Errorf("registry: audit checkpoint: %w", err)
	}
	return signed, nil
}
