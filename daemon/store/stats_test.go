package store

import (
	"context"
	"testing"
	"time"
)

func TestCallStats(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	// Each call: when it started relative to day, whether it was answered, its outcome
	// ("" = still in progress).
	calls := []struct {
		at       time.Duration
		answered bool
		outcome  string
	}{
		{-time.Minute, true, OutcomeVoicemail}, // yesterday: counted only from the day before
		{-time.Minute, false, OutcomeMissed},
		{0, false, OutcomeMissed}, // exactly at the start of the day counts
		{time.Hour, true, OutcomeVoicemail},
		{2 * time.Hour, true, OutcomeVoicemail},
		{3 * time.Hour, true, OutcomeCompleted},
		{4 * time.Hour, true, OutcomeAbandoned},
		{5 * time.Hour, true, OutcomeFailed},
		{6 * time.Hour, false, OutcomeMissed},
		{7 * time.Hour, true, ""}, // in progress
	}
	for i, c := range calls {
		start := day.Add(c.at)
		id, err := s.StartCall(ctx, "gsm1", "+79161234567", start)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if c.answered {
			if err := s.AnswerCall(ctx, id, start.Add(time.Second)); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		if c.outcome != "" {
			if err := s.FinishCall(ctx, id, start.Add(time.Minute), "", c.outcome); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
	}
	tests := []struct {
		name  string
		since time.Time
		want  Stats
	}{
		{"today", day, Stats{Total: 8, Answered: 6, Missed: 2, Voicemail: 2, Abandoned: 1}},
		{"since yesterday", day.Add(-time.Hour), Stats{Total: 10, Answered: 7, Missed: 3, Voicemail: 3, Abandoned: 1}},
		{"last hours", day.Add(5 * time.Hour), Stats{Total: 3, Answered: 2, Missed: 1}},
		{"in another zone", day.Add(3 * time.Hour).In(time.FixedZone("MSK", 3*3600)), Stats{Total: 5, Answered: 4, Missed: 1, Abandoned: 1}},
		{"future", day.Add(24 * time.Hour), Stats{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CallStats(ctx, tt.since)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CallStats(%s) = %+v, want %+v", tt.since, got, tt.want)
			}
		})
	}
}

func TestCallStatsEmpty(t *testing.T) {
	s := openTest(t, "", nil)
	got, err := s.CallStats(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got != (Stats{}) {
		t.Errorf("empty store: %+v", got)
	}
}
