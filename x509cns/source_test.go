package x509cns_test

import (
	"os"
	"testing"
)

func validateTestSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("validate_test.go")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
