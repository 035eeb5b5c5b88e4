package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFlowVersions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	if _, err := s.Flow(ctx, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Flow before any save = %v, want ErrNotFound", err)
	}
	if _, err := s.SaveFlow(ctx, nil, "owner", ""); err == nil {
		t.Error("an empty flow was saved")
	}
	v1, err := s.SaveFlow(ctx, []byte(`{"start":"a"}`), "owner", "first")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.SaveFlow(ctx, []byte(`{"start":"b"}`), "owner", "second\x00<b>")
	if err != nil {
		t.Fatal(err)
	}
	if v2 <= v1 {
		t.Errorf("versions %d then %d", v1, v2)
	}
	latest, err := s.Flow(ctx, 0)
	if err != nil || latest.Version != v2 || string(latest.JSON) != `{"start":"b"}` || latest.Comment != "second<b>" {
		t.Errorf("latest = %+v, %v", latest, err)
	}
	old, err := s.Flow(ctx, v1)
	if err != nil || string(old.JSON) != `{"start":"a"}` {
		t.Errorf("version %d = %+v, %v", v1, old, err)
	}
	list, err := s.FlowVersions(ctx, 10)
	if err != nil || len(list) != 2 || list[0].Version != v2 || list[0].JSON != nil {
		t.Errorf("versions = %+v, %v", list, err)
	}
}

func TestOperators(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	bad := []Operator{
		{Name: "", SIPUser: "anna", SIPPassword: "secret123"},
		{Name: "Anna"},
		{Name: "Anna", SIPUser: "an na", SIPPassword: "secret123"},
		{Name: "Anna", SIPUser: "anna", SIPPassword: "short"},
		{Name: "Anna", SIPUser: "anna", SIPPassword: "quote\"d-password"},
		{Name: "Anna", Mobile: "call me"},
	}
	for _, o := range bad {
		if _, err := s.AddOperator(ctx, o); err == nil {
			t.Errorf("AddOperator(%+v) accepted", o)
		}
	}
	id, err := s.AddOperator(ctx, Operator{Name: "Anna <b>", SIPUser: "anna", SIPPassword: "secret123", Available: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOperator(ctx, Operator{Name: "Boris", SIPUser: "anna", SIPPassword: "secret123"}); !errors.Is(err, ErrExists) {
		t.Errorf("a taken SIP user: %v, want ErrExists", err)
	}
	if _, err := s.AddOperator(ctx, Operator{Name: "Boris", Mobile: "+7 (916) 123-45-67"}); err != nil {
		t.Fatal(err)
	}
	o, err := s.OperatorBySIPUser(ctx, "anna")
	if err != nil || o.ID != id || o.Name != "Anna <b>" || !o.Available || o.SIPPassword != "secret123" {
		t.Errorf("OperatorBySIPUser = %+v, %v", o, err)
	}
	if err := s.SetOperatorAvailable(ctx, "Anna <b>", false); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if err := s.MarkOperatorCalled(ctx, "Boris", at); err != nil {
		t.Fatal(err)
	}
	all, err := s.Operators(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("Operators = %+v, %v", all, err)
	}
	if all[0].Available || all[1].Mobile != "+79161234567" || !all[1].LastCalled.Equal(at) {
		t.Errorf("Operators = %+v", all)
	}
	all[1].Mobile = ""
	all[1].SIPUser, all[1].SIPPassword = "boris", "another-secret"
	if err := s.UpdateOperator(ctx, all[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOperator(ctx, "Anna <b>"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOperator(ctx, "Anna <b>"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
	if _, err := s.OperatorBySIPUser(ctx, "anna"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted operator found: %v", err)
	}
}

func TestCallSummaryAndCallbacks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	id, err := s.StartCall(ctx, "gsm1", "+79161234567", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishCallSummary(ctx, id, time.Time{}, Summary{Outcome: OutcomeAnswered, Survey: 9}); err == nil {
		t.Error("survey score 9 accepted")
	}
	sum := Summary{Outcome: OutcomeAnswered, MenuPath: "0", Nodes: "start,menu,queue", FlowVersion: 3, Digits: "0",
		Language: "ru", QueueWait: 12500 * time.Millisecond, AnsweredBy: "Anna", Talk: 95 * time.Second,
		Survey: 5, SMSSent: true, EndReason: ""}
	if err := s.FinishCallSummary(ctx, id, time.Time{}, sum); err != nil {
		t.Fatal(err)
	}
	c, err := s.Call(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Summary != sum {
		t.Errorf("summary = %+v\nwant      %+v", c.Summary, sum)
	}
	if err := s.SetCallNote(ctx, id, " line one\x07\r\nline two <script>\n\n"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCallStatus(ctx, id, StatusInProgress); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Call(ctx, id)
	if c.Note != "line one\nline two <script>" || c.Status != StatusInProgress {
		t.Errorf("note %q status %q", c.Note, c.Status)
	}

	cb, err := s.AddCallback(ctx, id, "+79161234567")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.AddCallback(ctx, 0, "+7 916 123-45-67"); err != nil || again != cb {
		t.Errorf("second request for the same number = %d, %v; want %d", again, err, cb)
	}
	if _, err := s.AddCallback(ctx, id, "anonymous"); err == nil {
		t.Error("a callback with no number was accepted")
	}
	if err := s.CallbackAttempt(ctx, cb, CallbackDone, "answered", "Anna"); err != nil {
		t.Fatal(err)
	}
	list, err := s.Callbacks(ctx, false, 10)
	if err != nil || len(list) != 1 || list[0].Status != CallbackDone || list[0].Attempts != 1 || list[0].HandledBy != "Anna" {
		t.Errorf("callbacks = %+v, %v", list, err)
	}
	if open, _ := s.Callbacks(ctx, true, 10); len(open) != 0 {
		t.Errorf("open callbacks = %+v", open)
	}

	for i, want := range []bool{true, false} {
		if ok, err := s.ClaimAutoReply(ctx, "+79161234567", "2026-11-23"); err != nil || ok != want {
			t.Errorf("claim %d = %v, %v; want %v", i, ok, err, want)
		}
	}
	if ok, _ := s.ClaimAutoReply(ctx, "+79161234567", "2026-11-24"); !ok {
		t.Error("the next day's reply was refused")
	}
}
