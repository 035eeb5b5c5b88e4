package web

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/browserline"
	"hotline/daemon/store"
	"hotline/voice/ivr"
)

// smallBusiness fills a fixture's box with what a small flower shop's box holds after a
// week: two GSM lines, two operators with their hours, a call flow that rings them, a week
// of calls with notes, voicemail, a callback request and SMS. The browser tests that look at
// every page (accessibility, the screenshots in docs/OWNER.md) run over it. It returns the id
// of a call with a voicemail and a note, and the lines (the first has a call ringing now).
func smallBusiness(t *testing.T, f *fixture, now time.Time) (int64, *lockedLines) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	week := `{"tz":"Europe/Moscow","week":{"mon":["09:00-18:00"],"tue":["09:00-18:00"],"wed":["09:00-18:00"],"thu":["09:00-18:00"],"fri":["09:00-18:00"]}}`
	for _, o := range []store.Operator{
		{Name: "Марина", SIPUser: "marina", SIPPassword: "Q7K2M9X4P3W8R5T6", Available: true, Hours: week},
		{Name: "Олег", Mobile: "+79219876543", Available: true, Record: true},
		{Name: "Светлана", Mobile: "+79031112233", Available: false},
	} {
		_, err := f.st.AddOperator(ctx, o)
		must(err)
	}
	fl := ivr.Default(langRU)
	for i := range fl.Nodes {
		if fl.Nodes[i].ID == "operators" {
			fl.Nodes[i].Operators = []string{"Марина", "Олег"}
		}
		if fl.Nodes[i].Schedule != nil {
			fl.Nodes[i].Schedule.Week["sat"] = []string{"10:00-16:00"}
		}
	}
	b, err := fl.MarshalIndent()
	must(err)
	_, err = f.st.SaveFlow(ctx, b, store.OwnerName, "часы в субботу")
	must(err)
	must(f.st.SetSetting(ctx, settingTimeZone, "Europe/Moscow"))
	must(f.st.SetSetting(ctx, settingBusinessName, "Цветы на Садовой"))

	// A week of calls, most answered, some to voicemail, a few missed.
	type call struct {
		ago     time.Duration
		number  string
		outcome string
		by      string
		note    string
	}
	calls := []call{
		{150 * time.Hour, "+79161234567", store.OutcomeAnswered, "Марина", ""},
		{149 * time.Hour, "+74957771020", store.OutcomeAnswered, "Олег", ""},
		{126 * time.Hour, "+79035550142", store.OutcomeMissed, "", ""},
		{125 * time.Hour, "+79261180033", store.OutcomeAnswered, "Марина", "Свадебный букет на 14-е, пионы"},
		{102 * time.Hour, "+79169998877", store.OutcomeCompleted, "", ""},
		{100 * time.Hour, "+79057003344", store.OutcomeAnswered, "Олег", ""},
		{78 * time.Hour, "+79161234567", store.OutcomeAnswered, "Марина", "Постоянный клиент, доставка по средам"},
		{76 * time.Hour, "+74951234400", store.OutcomeMissed, "", ""},
		{54 * time.Hour, "+79250001122", store.OutcomeAnswered, "Олег", ""},
		{53 * time.Hour, "+79264445566", store.OutcomeCallback, "", ""},
		{30 * time.Hour, "+79037778899", store.OutcomeAnswered, "Марина", ""},
		{29 * time.Hour, "+79161239900", store.OutcomeAnswered, "Марина", ""},
		{6 * time.Hour, "+79096667788", store.OutcomeAnswered, "Олег", ""},
		{5 * time.Hour, "+79151112200", store.OutcomeMissed, "", ""},
		{3 * time.Hour, "+79261180033", store.OutcomeAnswered, "Марина", ""},
		{time.Hour, "+79857654321", store.OutcomeCompleted, "", ""},
	}
	for _, c := range calls {
		sum := store.Summary{Outcome: c.outcome, AnsweredBy: c.by, MenuPath: "0", Language: langRU}
		if c.by != "" {
			sum.Talk, sum.QueueWait, sum.Survey = 95*time.Second, 12*time.Second, 5
		}
		id := f.logCall("gsm1", c.number, now.Add(-c.ago), sum)
		if c.note != "" {
			must(f.st.SetCallNote(ctx, id, c.note))
		}
		if c.outcome == store.OutcomeCallback {
			_, err := f.st.AddCallback(ctx, id, c.number)
			must(err)
		}
	}
	// Two messages left after hours, one already handled.
	id1, vm1 := f.addCall("+79112223344", now.Add(-14*time.Hour), tone(1))
	must(f.st.SetCallNote(ctx, id1, "Просит перезвонить насчёт корпоративного заказа"))
	_, vm2 := f.addCall("+74959876500", now.Add(-40*time.Hour), tone(0.5))
	must(f.st.SetVoicemailHandled(ctx, vm2, true, store.OwnerName))
	_ = vm1
	for _, sms := range []struct{ from, text string }{
		{"+79161234567", "Здравствуйте! Можно заказать букет из 15 роз на субботу к 12:00? Доставка на Садовую, 5."},
		{"+79035550142", "Перезвоните, пожалуйста, после 17:00."},
	} {
		_, _, err := f.st.AddIncomingSMS(ctx, "gsm1", sms.from, sms.text, 1, 0, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
		must(err)
	}
	// A regular customer is calling now; the panel shows their history and the owner's script.
	f.logCall("gsm1", "+79161234567", now.Add(-40*time.Second), store.Summary{})
	must(f.st.SetSetting(ctx, scriptKey("operators"), "Здравствуйте, «Цветы на Садовой», меня зовут … "+
		"Доставка по городу 350 ₽, от 3000 ₽ бесплатно. Открыты пн–пт 9–18, сб 10–16."))
	lines := &lockedLines{lines: []daemon.LineInfo{
		{ID: "gsm1", Kind: "quectel", State: "ready", Model: "EC25", SIM: "ready", Operator: "MegaFon",
			Registered: true, SignalBars: 4, SignalDBm: -71, InCall: true, CallNumber: "+79161234567", CallSince: now.Add(-40 * time.Second)},
		{ID: "gsm2", Kind: "simcom", State: "ready", Model: "SIM7600E", SIM: "ready", Operator: "MTS",
			Registered: true, SignalBars: 3, SignalDBm: -83},
	}}
	return id1, lines
}

// idleTestLine is a TestLine that is on but places no call: the test-call page shows its
// keypad.
type idleTestLine struct{}

func (idleTestLine) Call(ctx context.Context, t browserline.Transport) error {
	return errors.New("no test calls here")
}
func (idleTestLine) Busy() bool { return false }
