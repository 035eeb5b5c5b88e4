package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"hotline/daemon"
)

// Everything the settings and users pages change can be changed through the JSON API too.
func TestSettingsAndUsersAPI(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	ck := []*http.Cookie{cookie}
	var got settingsJSON
	w := f.do(req{method: "PUT", path: "/api/settings", cookies: ck,
		body: `{"alert_sms":"8 916 123-45-67","answer_rings":"2","smtp_password":"s3cret","missed_sms_text":"Перезвоним!"}`})
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil {
		t.Fatalf("PUT: %d %s", w.Code, w.Body.String())
	}
	if got.Settings[daemon.SettingAlertSMS] != "+79161234567" || got.Settings["answer_rings"] != "2" || !got.SMTPPasswordSet ||
		got.Settings[daemon.SettingMissedSMS] != "Перезвоним!" {
		t.Errorf("after PUT: %+v", got)
	}
	if strings.Contains(w.Body.String(), "s3cret") {
		t.Error("the SMTP password came back")
	}
	if pw, _ := f.st.Setting(context.Background(), daemon.SettingSMTPPassword, ""); pw != "s3cret" {
		t.Errorf("SMTP password stored as %q", pw)
	}
	// A wrong value saves nothing, and says which.
	w = f.do(req{method: "PUT", path: "/api/settings", cookies: ck, body: `{"answer_rings":"99","alert_email":"me@example.com"}`})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "answer_rings") {
		t.Errorf("bad rings: %d %s", w.Code, w.Body.String())
	}
	if v, _ := f.st.Setting(context.Background(), daemon.SettingAlertEmail, ""); v != "" {
		t.Errorf("a refused PUT saved alert_email %q", v)
	}
	if w := f.do(req{method: "PUT", path: "/api/settings", cookies: ck, body: `{"admin":"yes"}`}); w.Code != http.StatusBadRequest {
		t.Errorf("unknown key: %d", w.Code)
	}

	if w := f.do(req{method: "POST", path: "/api/users", cookies: ck, body: `{"name":"ivan","password":"long enough pw"}`}); w.Code != http.StatusCreated {
		t.Fatalf("add user: %d %s", w.Code, w.Body.String())
	}
	if w := f.do(req{method: "POST", path: "/api/users", cookies: ck, body: `{"name":"owner","password":"long enough pw"}`}); w.Code != http.StatusConflict {
		t.Errorf("taking the owner's name: %d", w.Code)
	}
	if w := f.do(req{method: "POST", path: "/api/users", cookies: ck, body: `{"name":"petr","password":"short"}`}); w.Code != http.StatusBadRequest {
		t.Errorf("weak password: %d", w.Code)
	}
	var users struct {
		Users []userJSON `json:"users"`
	}
	w = f.do(req{path: "/api/users", cookies: ck})
	if json.Unmarshal(w.Body.Bytes(), &users) != nil || len(users.Users) != 2 {
		t.Fatalf("users: %s", w.Body.String())
	}
	if w := f.do(req{method: "DELETE", path: "/api/users/owner", cookies: ck}); w.Code != http.StatusForbidden {
		t.Errorf("deleting the owner: %d", w.Code)
	}
	if w := f.do(req{method: "DELETE", path: "/api/users/ivan", cookies: ck}); w.Code != http.StatusNoContent {
		t.Errorf("deleting ivan: %d", w.Code)
	}
}
