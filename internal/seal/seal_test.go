package seal

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	b, err := New(kek, "settings")
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal("admin", []byte("secret"))
	if got, err := b.Open("admin", s); err != nil || string(got) != "secret" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if s2 := b.Seal("admin", []byte("secret")); s2 == s {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	if _, err := b.Open("ca", s); err != ErrOpen {
		t.Fatalf("opened under another name: %v", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32), "settings")
	if _, err := other.Open("admin", s); err != ErrOpen {
		t.Fatalf("opened under another KEK: %v", err)
	}
	purpose, _ := New(kek, "other")
	if _, err := purpose.Open("admin", s); err != ErrOpen {
		t.Fatalf("opened for another purpose: %v", err)
	}
	if _, err := b.Open("admin", "not base64!"); err != ErrOpen {
		t.Fatalf("garbage: %v", err)
	}
}
