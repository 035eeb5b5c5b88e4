package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSetAndCheckPassword(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "boss", "пароль-длинный", RoleOwner); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, password string
		wantRole             string
		wantErr              error
	}{
		{"operator ok", "anna", "correct horse", RoleOperator, nil},
		{"owner ok, unicode", "boss", "пароль-длинный", RoleOwner, nil},
		{"wrong password", "anna", "correct horsE", "", ErrBadLogin},
		{"prefix of the password", "anna", "correct", "", ErrBadLogin},
		{"empty password", "anna", "", "", ErrBadLogin},
		{"unknown user", "nobody", "correct horse", "", ErrBadLogin},
		{"user name case matters", "Anna", "correct horse", "", ErrBadLogin},
		{"other user's password", "boss", "correct horse", "", ErrBadLogin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.CheckPassword(ctx, tt.user, tt.password)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if u != (User{}) {
					t.Errorf("user on failure = %+v", u)
				}
				return
			}
			if u.Name != tt.user || u.Role != tt.wantRole || !u.CreatedAt.Equal(clock.Now()) {
				t.Errorf("user = %+v", u)
			}
		})
	}

	// Updating changes the password and the role, not the creation time.
	clock.Add(time.Hour)
	if err := s.SetPassword(ctx, "anna", "battery staple", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPassword(ctx, "anna", "correct horse"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("old password still works: %v", err)
	}
	u, err := s.CheckPassword(ctx, "anna", "battery staple")
	if err != nil || u.Role != RoleOwner || !u.CreatedAt.Equal(clock.Now().Add(-time.Hour)) {
		t.Errorf("after update: %+v, %v", u, err)
	}
}

func TestSetPasswordRefuses(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	tests := []struct {
		name, user, password, role string
		want                       error // nil: any error
	}{
		{"7 characters", "anna", "1234567", RoleOperator, ErrWeakPassword},
		{"empty", "anna", "", RoleOperator, ErrWeakPassword},
		{"7 runes in 14 bytes", "anna", "пароль1", RoleOperator, ErrWeakPassword},
		{"too long", "anna", strings.Repeat("x", MaxPasswordBytes+1), RoleOperator, nil},
		{"unknown role", "anna", "long enough", "admin", nil},
		{"no role", "anna", "long enough", "", nil},
		{"empty name", "", "long enough", RoleOperator, nil},
		{"name with control bytes", "an\x00na", "long enough", RoleOperator, nil},
		{"name with spaces around", " anna", "long enough", RoleOperator, nil},
		{"name too long", strings.Repeat("a", 65), "long enough", RoleOperator, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetPassword(ctx, tt.user, tt.password, tt.role)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if users, err := s.ListUsers(ctx); err != nil || len(users) != 0 {
		t.Errorf("users after refusals: %v, %v", users, err)
	}
	if err := s.SetPassword(ctx, "ок", "12345678", RoleOperator); err != nil {
		t.Errorf("8 characters refused: %v", err)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	if ok, err := s.HasOwner(ctx); err != nil || ok {
		t.Fatalf("HasOwner on a new box = %v, %v", ok, err)
	}
	if err := s.SetPassword(ctx, "anna", "correct horse", RoleOperator); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.HasOwner(ctx); ok {
		t.Error("an operator counts as owner")
	}
	if err := s.SetPassword(ctx, OwnerName, "owner password", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.HasOwner(ctx); !ok {
		t.Error("HasOwner false after setting the owner's password")
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Name != "anna" || users[1].Name != OwnerName || users[1].Role != RoleOwner {
		t.Errorf("ListUsers = %+v, %v", users, err)
	}
	if u, err := s.User(ctx, "anna"); err != nil || u.Role != RoleOperator {
		t.Errorf("User = %+v, %v", u, err)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("User(nobody) = %v", err)
	}
	tok, err := s.CreateSession(ctx, "anna", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		user string
		want error
	}{
		{"last owner", OwnerName, ErrLastOwner},
		{"unknown", "nobody", ErrNotFound},
		{"operator", "anna", nil},
		{"operator again", "anna", ErrNotFound},
	}
	for _, tt := range tests {
		if err := s.DeleteUser(ctx, tt.user); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: DeleteUser = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := s.Session(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("session of a deleted user: %v", err)
	}
	if err := s.SetPassword(ctx, "second", "owner password", RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, OwnerName); err != nil {
		t.Errorf("deleting one of two owners: %v", err)
	}
}
